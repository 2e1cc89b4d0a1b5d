import { getModule } from '../modules/index.js';
import { measureConfig, profile } from '../profile/profiler.js';
import { planConfigs } from '../profile/sampler.js';
import { defaultSpace } from '../profile/space.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import { getRuntime } from '../runtimes/index.js';
import { predictConfig, trainAndSelect } from '../select/autoselect.js';
import { CV_BELOW_VAL_ROWS, CV_FOLDS } from '../select/candidates.js';
import { selectionAccuracy } from '../select/policy.js';
import { Store, type ModelRun } from '../store/db.js';
import { REGRESSORS } from '../regressors/index.js';
import { accuracy } from '../select/metrics.js';
import { phaseProgress, progressHooks } from './progress.js';
import { formatTable } from './table.js';
import { MachineProbe } from '../profile/probe.js';
import { median } from '../util/stats.js';
import { measureModel } from '../profile/model-timing.js';
import { atMachineState, calibrateSetting, generatedModels, MEASUREMENT_PASSES, medianRuns } from '../wholemodel/calibrate.js';
import { extrapolatedModules, WholeModelPredictor } from '../wholemodel/predictor.js';
import { FAMILIES } from '../modelgen/index.js';

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
  let networks: Array<Array<string | number>> = [];
  try {
    for (const name of DEMO_MODULES) {
      const dataset = `demo-${name}@ort-cpu`;
      const hooks = progressHooks(dataset, stop);
      await profile(store, { module: name, device: 'ort-cpu', samples, name: dataset, seed: 1, timing, probe: true }, hooks);
      hooks.finish();
      process.stderr.write(`${dataset}: training ${sel0Kinds()}…\n`);
      const sel = await trainAndSelect(store, dataset);

      // unseen configurations (another seed), predicted first, then measured
      // the machine probe before each (the training samples had one per chunk too): the
      // predictions are brought to the machine state of these few seconds, their median probe
      const m = getModule(name);
      const fresh = planConfigs(m, defaultSpace(m), 'random', CHECK_CONFIGS, 9_999).configs;
      const predicted = fresh.map((cfg) => predictConfig(store, dataset, cfg.params, cfg.device));
      const measured: Array<Awaited<ReturnType<typeof measureConfig>>> = [];
      const probes: number[] = [];
      const probe = await MachineProbe.open(rt, 1);
      try {
        for (const cfg of fresh) {
          probes.push(await probe.time());
          measured.push(await measureConfig(rt, m, cfg, timing));
        }
      } finally {
        await probe.close();
      }
      const trainedAt = predicted[0]!.probeMs;
      const state = trainedAt ? median(probes) / trainedAt : 1;
      const pred = predicted.map((p) => p.ms * state);
      const meas = measured.map((r) => r.timing.latencyMs);
      fresh.forEach((cfg, i) => checks.push([name, shortParams(cfg.params), measured[i]!.cost.macs / 1e6, meas[i]!, pred[i]!, ((pred[i]! - meas[i]!) / meas[i]!) * 100]));
      const unseen = accuracy(pred, meas);
      // what the choice was made on: out of fold when the validation split was too small (crossValidate)
      const chosenOn = sel.cvFolds >= 2 ? `${sel.cvFolds}-fold CV` : `validation (${sel.valSize})`;
      summary.push([name, sel.trainSize + sel.valSize, chosenOn, sel.candidates.map((c) => `${c.kind} ${(selectionAccuracy(c).within10 * 100).toFixed(0)}`).join(' '), sel.selected, unseen.within10 * 100, unseen.mape]);
    }
    process.stderr.write('whole networks: calibrating on generated networks, then predicting unseen ones…\n');
    networks = await wholeModelDemo(store, rt);
  } finally {
    store.close();
  }
  console.log('\nPredicted vs measured on configurations never seen in training (ort-cpu, 1 thread; predictions at the machine state of the measurements, by the machine probe — as `predict --now`):');
  console.log(formatTable(['module', 'params', 'MMACs', 'measured ms', 'predicted ms', 'error %'], checks));
  console.log(`\nPer module: ±10 % accuracy (%) of each regression model on what the choice was made on (${CV_FOLDS}-fold cross-validation over the samples when the 20 % validation split is under ${CV_BELOW_VAL_ROWS}), the auto-selected one (objective balanced), its accuracy on the unseen configs:`);
  console.log(formatTable(['module', 'samples', 'chosen on', '±10 % by model', 'selected', 'unseen ±10 %', 'unseen MAPE %'], summary));
  console.log(`(${samples} samples per module; the default dataset sizes and a separate test run: npm run bench:regressors, reports/regressors.md)`);
  console.log(`\nWhole networks never seen before (one generated per family; \`latencylab predict model.onnx\`), predicted vs measured (ort-cpu, 1 thread, median of ${MEASUREMENT_PASSES} passes at the calibration's machine state):`);
  console.log(formatTable(['network', 'MFLOPs', 'kernels', 'FLOPs by trained RMs %', 'time extrapolated %', 'measured ms', 'predicted ms', 'error %'], networks));
  const errs = networks.map((r) => Math.abs(r.at(-1) as number));
  console.log(`${errs.filter((e) => e <= 10).length}/${errs.length} within ±10 %, mean |error| ${(errs.reduce((a, b) => a + b, 0) / errs.length).toFixed(1)} % (the module RMs above, calibrated on ${DEMO_CALIBRATION_PER_FAMILY * FAMILIES.length} other generated networks; 'FLOPs by trained RMs': the share of a network's compute FLOPs the module RMs above answer, the rest per-device roofline estimates; 'time extrapolated': the share of its predicted time from kernels outside the ranges those RMs were trained on (latencylab predict lists them); the full study, with every module trained: npm run bench:models, reports/models.md)`);
  console.log(`\nStore: ${dbFile}  (try: latencylab datasets; latencylab export --dataset demo-conv2d@ort-cpu)`);
}

const sel0Kinds = () => REGRESSORS.map((k) => k.kind).join(', ');

function shortParams(p: Record<string, unknown>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

const DEMO_CALIBRATION_PER_FAMILY = 3;

/** Calibrates whole-model prediction on generated networks, then predicts and measures unseen ones. */
async function wholeModelDemo(store: Store, rt: ReturnType<typeof getRuntime>): Promise<Array<Array<string | number>>> {
  const setting = { device: 'ort-cpu', threads: 1 };
  const cal = await calibrateSetting(store, setting, {
    perFamily: DEMO_CALIBRATION_PER_FAMILY,
    onProgress: phaseProgress('calibration networks'),
  });
  const predictor = WholeModelPredictor.open(store, setting);
  // the unseen networks are measured as the calibration ones are: in passes, each measurement with
  // the probe before it, put at the calibration's machine state by the probe window it chose
  const unseen = generatedModels(5001, 1).map((m) => ({ m, mf: m.load() }));
  const probe = await MachineProbe.open(rt, 1);
  const runs: ModelRun[] = [];
  try {
    for (let pass = 0; pass < MEASUREMENT_PASSES; pass++) {
      for (const { m, mf } of unseen) {
        const probeMs = await probe.time();
        const r = await measureModel(mf.bytes, mf.inputs, 'ort-cpu', 1);
        runs.push({ collection: 'demo', model: m.name, deviceKey: 'ort-cpu/t1', createMs: r.createMs, latencyMs: r.stats.latencyMs, stats: null, probeMs, pass, measuredAt: Date.now() });
      }
    }
  } finally {
    await probe.close();
  }
  const measuredRuns = medianRuns(atMachineState(runs, cal?.probeWindow.windowS ?? 0), cal?.calibration.probeMs);
  const rows: Array<Array<string | number>> = [];
  for (const { m, mf } of unseen) {
    const p = predictor.predict(mf.imported);
    const measured = measuredRuns.get(m.name)!.measuredMs;
    const extrapolated = extrapolatedModules(p).reduce((a, e) => a + e.share, 0);
    rows.push([m.name, p.flops / 1e6, p.kernels.filter((k) => k.group !== 'free').length, p.coverage * 100, extrapolated * 100, measured, p.totalMs, ((p.totalMs - measured) / measured) * 100]);
  }
  return rows;
}
