import { getModule } from '../modules/index.js';
import { measureConfig, profile } from '../profile/profiler.js';
import { planConfigs } from '../profile/sampler.js';
import { defaultSpace } from '../profile/space.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import { getRuntime } from '../runtimes/index.js';
import { predictConfig, trainAndSelect } from '../select/autoselect.js';
import { Store } from '../store/db.js';
import { mape } from '../util/stats.js';
import { progressHooks } from './progress.js';
import { formatTable } from './table.js';

const DEMO_MODULES = ['conv2d', 'dwconv', 'linear', 'mhsa'];
const CHECK_CONFIGS = 8;

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
      const sel = await trainAndSelect(store, dataset);
      const chosen = sel.candidates.find((c) => c.selected)!;

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
      summary.push([name, sel.trainSize + sel.testSize, sel.candidates.map((c) => `${c.kind} ${c.mape.toFixed(1)}%`).join(', '), chosen.kind, mape(pred, meas)]);
    }
  } finally {
    store.close();
  }
  console.log('\nPredicted vs measured on configurations never seen in training (ort-cpu, 1 thread):');
  console.log(formatTable(['module', 'params', 'MMACs', 'measured ms', 'predicted ms', 'error %'], checks));
  console.log('\nPer module: held-out MAPE of each regression model, the auto-selected one, its error on the unseen configs:');
  console.log(formatTable(['module', 'samples', 'held-out MAPE by model', 'selected', 'unseen MAPE %'], summary));
  console.log(`\nStore: ${dbFile}  (try: latencylab datasets; latencylab export --dataset demo-conv2d@ort-cpu)`);
}

function shortParams(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
