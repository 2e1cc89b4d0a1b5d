// What the whole-model calibration is judged against and fitted on (reports/models-history.md,
// session 21), from the bench store alone (no measurement): run after `npm run build` and
// `npm run bench:models`:
//   node scripts/models-truth-study.mjs [t1|t2]
// 1. The design (GBT in-graph correction + a calibration variant, VARIANT=groups by default) on the
//    calibration networks (5-fold CV stratified by family, as bench:models) and the validation
//    networks, with every network's latency taken from one measurement pass alone, and from the
//    median of the passes.
// 2. The same with the calibration fitted on the first K calibration networks of each family:
//    validation networks only (never test), median of the passes.
// Written before session 22 put each measurement at the machine state of the probes within ±W s
// (bench:models' atMachineState): this study still divides by each measurement's own probe, so its
// figures are lower than the report's (session 25, t2, GBT + groups: CV+val 60.9 % here, 75.7 % in
// reports/models.md) and only comparable with each other.
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';

import { fitInGraph, inGraphPairs } from '../dist/wholemodel/ingraph.js';
import { applyCalibration, fitCalibration } from '../dist/wholemodel/calibration.js';
import { familyFolds, MEASUREMENT_PASSES, medianRuns, profileAtNominal } from '../dist/wholemodel/calibrate.js';

const s = MODEL_SETTINGS.find((x) => x.id === (process.argv[2] ?? 't1'));
const VARIANT = process.env.VARIANT ?? 'groups';
const FOLDS = 5;
const store = new Store(modelsDbPath());
const key = settingKey(s);
const predictor = WholeModelPredictor.open(store, s);
const nominal = predictor.nominalProbeMs;
const profiles = store.nodeProfiles('calib', key);
const truths = (c) => {
  const runs = store.modelRuns(c, key);
  const byPass = Array.from({ length: MEASUREMENT_PASSES }, (_, p) => medianRuns(runs.filter((r) => r.pass === p), nominal));
  return { median: medianRuns(runs, nominal), byPass };
};
const calibAll = collectionModels('calib', s).filter((m) => profiles.has(m.name));
const val = collectionModels('val', s);
const [tc, tv] = [truths('calib'), truths('val')];
const kernelsOf = new Map();
const pairsOf = new Map(calibAll.map((m) => [m.name, inGraphPairs(predictor.kernelPredictions(m.load().imported, { inGraph: null }), profileAtNominal(profiles.get(m.name), nominal))]));

/** ±10 % share and RMSPE of the design fitted on `calib`, judged on CV over them (when cv) and on the validation networks */
function judge(calib, truthOf, cv) {
  const ratios = [];
  const valRatios = [];
  const foldOf = familyFolds(calib, FOLDS);
  const fitOn = (names) => {
    const ig = fitInGraph(names.flatMap((n) => pairsOf.get(n)), 'gbt');
    return { ks: (m) => predictor.kernelPredictions(m.load().imported, { inGraph: ig }) };
  };
  if (cv) {
    for (let f = 0; f < FOLDS; f++) {
      const { ks } = fitOn(calib.filter((m) => foldOf.get(m.name) !== f).map((m) => m.name));
      const kin = new Map(calib.map((m) => [m.name, ks(m)]));
      const c = fitCalibration(calib.filter((m) => foldOf.get(m.name) !== f).map((m) => ({ kernels: kin.get(m.name), measuredMs: truthOf(m.name, 'calib') })), VARIANT, nominal);
      for (const m of calib.filter((x) => foldOf.get(x.name) === f)) ratios.push(applyCalibration(c, kin.get(m.name).map((k) => ({ ...k }))).totalMs / truthOf(m.name, 'calib'));
    }
  }
  const { ks } = fitOn(calib.map((m) => m.name));
  const c = fitCalibration(calib.map((m) => ({ kernels: ks(m), measuredMs: truthOf(m.name, 'calib') })), VARIANT, nominal);
  for (const m of val) {
    let k = kernelsOf.get(`${calib.length}:${m.name}`);
    if (!k) kernelsOf.set(`${calib.length}:${m.name}`, (k = ks(m)));
    valRatios.push(applyCalibration(c, k.map((x) => ({ ...x }))).totalMs / truthOf(m.name, 'val'));
  }
  const w10 = (xs) => (100 * xs.filter((x) => Math.abs(x - 1) <= 0.1).length) / xs.length;
  const rmspe = (xs) => 100 * Math.sqrt(xs.reduce((a, x) => a + (x - 1) ** 2, 0) / xs.length);
  return { cvVal: w10([...ratios, ...valRatios]), val: w10(valRatios), valRmspe: rmspe(valRatios) };
}

const get = (t) => (name, c) => (c === 'calib' ? t.c : t.v).get(name)?.measuredMs;
console.log(`${key}, ${VARIANT} calibration, ${calibAll.length} calibration + ${val.length} validation networks`);
console.log('1. truth                 CV+val ±10 %   val ±10 %   val RMSPE %');
for (let p = 0; p < MEASUREMENT_PASSES; p++) {
  const r = judge(calibAll, get({ c: tc.byPass[p], v: tv.byPass[p] }), true);
  console.log(`   pass ${p} alone            ${r.cvVal.toFixed(1).padStart(6)}      ${r.val.toFixed(1).padStart(6)}      ${r.valRmspe.toFixed(2)}`);
}
const med = judge(calibAll, get({ c: tc.median, v: tv.median }), true);
console.log(`   median of ${MEASUREMENT_PASSES} passes     ${med.cvVal.toFixed(1).padStart(6)}      ${med.val.toFixed(1).padStart(6)}      ${med.valRmspe.toFixed(2)}`);
console.log('2. calibration networks per family (validation only, median truth)');
const perFamily = calibAll.length / new Set(calibAll.map((m) => m.family)).size;
for (const k of [3, 5, 10, 15, 20].filter((k) => k <= perFamily)) {
  const seen = {};
  const sub = calibAll.filter((m) => (seen[m.family] = (seen[m.family] ?? 0) + 1) <= k);
  const r = judge(sub, get({ c: tc.median, v: tv.median }), false);
  console.log(`   ${String(k).padStart(2)} per family: val ±10 % ${r.val.toFixed(1)}, RMSPE ${r.valRmspe.toFixed(2)} %`);
}
store.close();
