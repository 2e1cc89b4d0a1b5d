// Where a design's time goes, for the build in DIST (default ./dist), so two builds can be compared
// (session 53, reports/scale-history.md): one calibrated answer of the NB201 pair predictor
// (titanx_32) for random and for consecutive architectures of the whole table, and per HELP test
// device and budget (25/50/75th percentiles) the optimiser pass, the candidate set, and a whole
// decision (medians of 7 timed rounds after a warm-up). Uses the networks cached by
// scripts/scale-calibration-study.mjs. After npm run build:
//   node scripts/scale-answer-time.mjs
//   DIST=/tmp/old/dist node scripts/scale-answer-time.mjs    (a worktree of an older commit, built there)
import { readFileSync } from 'node:fs';
import path from 'node:path';
const D = path.resolve(process.env.DIST ?? 'dist');
const { loadLatencyData, requireDevice } = await import(`${D}/data/latency.js`);
const { decideDesign, DEFAULT_RULES } = await import(`${D}/scale/design.js`);
const { budgetsAt } = await import(`${D}/scale/evaluate.js`);
const { DesignOptimiser } = await import(`${D}/scale/optimiser.js`);
const { PairPredictor } = await import(`${D}/scale/pair.js`);
const { getTask } = await import(`${D}/transfer/tasks.js`);
const d = loadLatencyData('nb201');
const read = (name) => JSON.parse(readFileSync(`.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
const pp = PairPredictor.fromState(d, read('pair'));
const opt = DesignOptimiser.fromState(d, read('opt'));
const median7 = (f) => {
  const ts = [];
  for (let r = 0; r < 7; r++) ts.push(f());
  return ts.sort((a, b) => a - b)[3];
};

const t = requireDevice(d, 'titanx_32');
const dp = pp.forDevice(d.referenceArchs.map((a) => t[a]));
const n = d.ops.length;
let sink = 0;
for (const [name, archs] of [['random', Int32Array.from({ length: 77_000 }, (_, i) => (i * 7919 + 13) % n)], ['consecutive', Int32Array.from({ length: 77_000 }, (_, i) => i % n)]]) {
  for (let i = 0; i < archs.length; i++) sink += dp.predictLogMs(archs[i]);
  const ns = median7(() => {
    const t0 = performance.now();
    for (let r = 0; r < 5; r++) for (let i = 0; i < archs.length; i++) sink += dp.predictLogMs(archs[i]);
    return ((performance.now() - t0) / 5 / archs.length) * 1e6;
  });
  console.log(`one calibrated answer, ${name} architectures: ${ns.toFixed(0)} ns`);
}

const rule = DEFAULT_RULES.nb201;
const cases = getTask('nb201-help').test.map((dev) => {
  const truth = requireDevice(d, dev);
  return { dp: pp.forDevice(d.referenceArchs.map((a) => truth[a])), budgets: budgetsAt(truth, [0.25, 0.5, 0.75]) };
});
const perDesign = (f) => {
  for (let w = 0; w < 50; w++) for (const c of cases) for (const b of c.budgets) f(c, b);
  return median7(() => {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) for (const c of cases) for (const b of c.budgets) f(c, b);
    return ((performance.now() - t0) / 200 / (cases.length * 3)) * 1000;
  });
};
console.log(`per design: optimiser pass ${perDesign((c, b) => opt.logProbs(c.dp.features, b)).toFixed(1)} µs, candidate set (incl. the pass) ${perDesign((c, b) => opt.candidateSet(c.dp.features, b, rule.candidates)).toFixed(1)} µs, whole decision ${perDesign((c, b) => decideDesign(opt, c.dp, b, d.accuracy, rule)).toFixed(1)} µs`);
const refs = getTask('nb201-help').test.map((dev) => d.referenceArchs.map((a) => requireDevice(d, dev)[a]));
for (let i = 0; i < 50; i++) for (const r of refs) pp.forDevice(r);
const calib = median7(() => {
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) for (const r of refs) pp.forDevice(r);
  return ((performance.now() - t0) / 100 / cases.length) * 1000;
});
console.log(`one calibration (10 references): ${calib.toFixed(1)} µs${sink === 0 ? ' ' : ''}`);
