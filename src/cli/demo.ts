import { getModule } from '../modules/index.js';
import { measureConfig, profile } from '../profile/profiler.js';
import { planConfigs } from '../profile/sampler.js';
import { defaultSpace } from '../profile/space.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import { getRuntime } from '../runtimes/index.js';
import { predictConfig, trainAndSelect } from '../select/autoselect.js';
import { Store } from '../store/db.js';
import { REGRESSORS } from '../regressors/index.js';
import { accuracy } from '../select/metrics.js';
import { progressHooks } from './progress.js';
import { formatTable } from './table.js';

const DEMO_MODULES = ['conv2d', 'dwconv', 'linear', 'mhsa'];
const CHECK_CONFIGS = 12;

/**
 * The main job end to end on the embedded default store: profile a few modules on ort-cpu
 * (1 thread), train and auto-select an RM per module, then predict configurations that were never
 * measured before and measure them to show the prediction error.
 */
export async function runDemo(dbFile: string, samples: number): Promise<void> {
  const store = new Store(dbFile);
  const rt = getRuntime('ort-cpu');
  const timing = { ...DEFAULT_TIMING, maxTimeMs: 150 };
  const summary: Array<Array<string | number>> = [];
  const checks: Array<Array<string | number>> = [];
  const stop = { stop: false };
  try {
    for (const name of DEMO_MODULES) {
      const dataset = `demo-${name}@ort-cpu`;
      const hooks = progressHooks(dataset, stop);
      await profile(store, { module: name, device: 'ort-cpu', samples, name: dataset, seed: 1, timing }, hooks);
      hooks.finish();
      process.stderr.write(`${dataset}: training ${sel0Kinds()}…\n`);
      const sel = await trainAndSelect(store, dataset);

      // unseen configurations (another seed), predicted first, then measured
      const m = getModule(name);
      const fresh = planConfigs(m, defaultSpace(m), 'random', CHECK_CONFIGS, 9_999).configs;
      const pred: number[] = [];
      const meas: number[] = [];
      for (const cfg of fresh) {
        const p = predictConfig(store, dataset, cfg.params, cfg.device).ms;
        const r = await measureConfig(rt, m, cfg, timing);
        pred.push(p);
        meas.push(r.timing.latencyMs);
        checks.push([name, shortParams(cfg.params), r.cost.macs / 1e6, r.timing.latencyMs, p, ((p - r.timing.latencyMs) / r.timing.latencyMs) * 100]);
      }
      const unseen = accuracy(pred, meas);
      summary.push([name, sel.trainSize + sel.valSize, sel.candidates.map((c) => `${c.kind} ${(c.val.within10 * 100).toFixed(0)}`).join(' '), sel.selected, unseen.within10 * 100, unseen.mape]);
    }
  } finally {
    store.close();
  }
  console.log('\nPredicted vs measured on configurations never seen in training (ort-cpu, 1 thread):');
  console.log(formatTable(['module', 'params', 'MMACs', 'measured ms', 'predicted ms', 'error %'], checks));
  console.log('\nPer module: validation ±10 % accuracy (%) of each regression model, the auto-selected one (objective balanced), its accuracy on the unseen configs:');
  console.log(formatTable(['module', 'samples', 'validation ±10 % by model', 'selected', 'unseen ±10 %', 'unseen MAPE %'], summary));
  console.log(`(${samples} samples per module; the default dataset sizes and a separate test run: npm run bench:regressors, reports/regressors.md)`);
  console.log(`\nStore: ${dbFile}  (try: latencylab datasets; latencylab export --dataset demo-conv2d@ort-cpu)`);
}

const sel0Kinds = () => REGRESSORS.map((k) => k.kind).join(', ');

function shortParams(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
