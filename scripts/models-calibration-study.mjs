// Calibration variants on standalone kernel estimates, judged as bench:models judges a design (5-fold
// CV over the calibration networks, stratified by family, plus the validation networks; never the
// test networks), with the share within ±10 % and the median predicted/measured per family. From the
// bench store alone (no measurement); for ort-wasm, which has no per-node profiles, this is the
// bench's whole design space (ort-cpu's in-graph corrections: scripts/models-design-study.mjs).
//   npm run build && node scripts/models-calibration-study.mjs [wasm|t1|t2]
// Options (environment): VARIANTS=a,b,… (default: modules, modules+layout+ops, modules+transfer);
// OP_RIDGE=λ,… ('modules+layout+ops' per ridge); SHOW=1 (the fitted factors and prices);
// PER_FAMILY=n: as `latencylab calibrate --per-family n` fits — on the first n calibration networks
// of each family only — judged on the validation networks and the calibration networks not fitted.
// FUSION=+rule,-rule,…: kernels detected with the device's fusion table plus / minus these rules
// (wholemodel/fusion.ts) — whether a rule the fusion probe measures as fused should be in the table.
// OUTPUTS=0|1: without / with the price per MB of model outputs (default: the product's).
// Session 41 (reports/models-history.md): the wasm choice data behind 'modules+transfer'.
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { existingModelsStore, MODEL_SETTINGS } from '../dist/bench/models-data.js';
import { modelFromBytes } from '../dist/wholemodel/model-file.js';
import { applyCalibration, canFitCalibration, fitCalibration, VARIANTS } from '../dist/wholemodel/calibration.js';
const outputsOption = process.env.OUTPUTS ? { outputs: process.env.OUTPUTS !== '0' } : {};
import { familyFolds, medianRuns, runsAtChosenWindow } from '../dist/wholemodel/calibrate.js';
import { fusionTable } from '../dist/wholemodel/fusion.js';

const s = MODEL_SETTINGS.find((x) => x.id === (process.argv[2] ?? 'wasm'));
const variants = (process.env.VARIANTS ?? 'modules,modules+layout+ops,modules+transfer').split(',');
const unknown = variants.find((v) => !VARIANTS.includes(v));
if (!s || unknown) {
  console.error(!s ? `unknown setting '${process.argv[2]}' (expected ${MODEL_SETTINGS.map((x) => x.id).join(', ')})` : `unknown variant '${unknown}' (expected ${VARIANTS.join(', ')})`);
  process.exit(2);
}
const store = existingModelsStore();
const key = settingKey(s);
const predictor = WholeModelPredictor.open(store, s, { calibration: false });
const nominal = predictor.nominalProbeMs;
const { runs } = runsAtChosenWindow(store, key);
const fusion = (() => {
  const t = fusionTable(s.device);
  const rules = new Set(t.rules);
  const known = [...fusionTable('ort-cpu').rules]; // the x86 table has every rule
  for (const r of (process.env.FUSION ?? '').split(',').filter(Boolean)) {
    if (!/^[+-]/.test(r) || !known.includes(r.slice(1))) {
      console.error(`FUSION: '${r}' should be + (add) or - (drop) and one of ${known.join(', ')}`);
      process.exit(2);
    }
    if (r[0] === '+') rules.add(r.slice(1));
    else rules.delete(r.slice(1));
  }
  return { ...t, rules };
})();
console.log(`fusion rules: ${[...fusion.rules].join(', ')}`);
// each measured network of a collection: its median latency at the nominal state and its standalone kernel estimates
const evaluated = (c) => {
  const measured = medianRuns(runs.filter((r) => r.collection === c), nominal);
  return collectionModels(c, s).filter((m) => measured.has(m.name)).map((m) => {
    const f = m.load();
    predictor.clearMemo();
    const p = predictor.predict(modelFromBytes(f.bytes, m.name, f.inputs[0]?.shape).imported, { inGraph: null, calibration: null, fusion });
    return { name: m.name, family: m.family, measuredMs: measured.get(m.name).measuredMs, kernels: p.kernels };
  });
};
const calib = evaluated('calib');
const val = evaluated('val');
console.log(`${key}: ${calib.length} calibration, ${val.length} validation networks (standalone kernel estimates)`);
const foldOf = familyFolds(calib, 5);
const families = [...new Set(calib.map((e) => e.family))];
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const within10 = (xs) => xs.filter((o) => Math.abs(o.ratio - 1) <= 0.1).length / xs.length;
const rmspe = (xs) => 100 * Math.sqrt(xs.reduce((a, o) => a + (o.ratio - 1) ** 2, 0) / xs.length);
const designs = variants.flatMap((v) => (v === 'modules+layout+ops' && process.env.OP_RIDGE ? process.env.OP_RIDGE.split(',').map((l) => ({ v, name: `${v}, op ridge ${l}`, o: { opRidge: Number(l) } })) : [{ v, name: v, o: {} }]));
const perFamily = Number(process.env.PER_FAMILY ?? 0);
if (perFamily) {
  const rank = new Map();
  const fitted = calib.filter((e) => { const n = (rank.get(e.family) ?? 0) + 1; rank.set(e.family, n); return n <= perFamily; });
  const judged = [...calib.filter((e) => !fitted.includes(e)), ...val];
  console.log(`fitted on ${fitted.length} calibration networks (${perFamily} a family), judged on ${judged.length} others`);
  for (const d of designs) {
    if (!canFitCalibration(fitted, d.v)) {
      console.log(`${d.name.padEnd(28)} too many coefficients for ${fitted.length} networks`);
      continue;
    }
    const c = fitCalibration(fitted.map((e) => ({ kernels: e.kernels, measuredMs: e.measuredMs })), d.v, nominal, { ...outputsOption, ...d.o });
    const out = judged.map((e) => ({ e, ratio: applyCalibration(c, e.kernels.map((k) => ({ ...k }))).totalMs / e.measuredMs }));
    console.log(`${d.name.padEnd(28)} ±10 % ${(100 * within10(out)).toFixed(1)}, RMSPE ${rmspe(out).toFixed(2)} %`);
  }
  process.exit(0);
}
for (const d of designs) {
  const fit = (es) => fitCalibration(es.map((e) => ({ kernels: e.kernels, measuredMs: e.measuredMs })), d.v, nominal, { ...outputsOption, ...d.o });
  const total = (c, e) => applyCalibration(c, e.kernels.map((k) => ({ ...k }))).totalMs;
  const perFold = Array.from({ length: 5 }, (_, f) => fit(calib.filter((e) => foldOf.get(e.name) !== f)));
  const full = fit(calib);
  const out = [...calib.map((e) => ({ e, ratio: total(perFold[foldOf.get(e.name)], e) / e.measuredMs })), ...val.map((e) => ({ e, ratio: total(full, e) / e.measuredMs }))];
  console.log(`\n${d.name}: choice ±10 % ${(100 * within10(out)).toFixed(1)} (CV ${(100 * within10(out.slice(0, calib.length))).toFixed(1)}, validation ${(100 * within10(out.slice(calib.length))).toFixed(1)}), RMSPE ${rmspe(out).toFixed(2)} %`);
  console.log('  per family ±10 % / median predicted÷measured: ' + families.map((f) => { const xs = out.filter((o) => o.e.family === f); return `${f} ${(100 * within10(xs)).toFixed(0)} % / ${median(xs.map((o) => o.ratio)).toFixed(2)}`; }).join(', '));
  if (process.env.SHOW) {
    console.log(`  overhead ${full.overheadMs.toFixed(4)} ms, per kernel ${(1000 * full.perKernelMs).toFixed(2)} µs, per view ${(1000 * full.perViewMs).toFixed(2)} µs${full.perActivationMB !== undefined ? `, per MB of activations ${(1000 * full.perActivationMB).toFixed(1)} µs` : ''}`);
    console.log('  factors ' + Object.entries(full.factors).map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', '));
    if (full.perOpMs) console.log('  per op µs ' + Object.entries(full.perOpMs).map(([k, x]) => `${k} ${(1000 * x).toFixed(0)}`).join(', '));
  }
}
store.close();
