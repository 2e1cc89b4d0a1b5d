// Whether the design path is slow in a fresh process because of warm-up or because other predictor
// shapes (the MLP form, FBNet) ran through the same code first, as in bench:scale (session 47):
// four passes of bench:scale's timing loop over the NB201 HELP test devices, ms per device and budget.
// Uses the networks cached by scripts/scale-calibration-study.mjs. After npm run build:
//   node scripts/scale-warmup-check.mjs; POLY=1 node scripts/scale-warmup-check.mjs
import { readFileSync } from 'node:fs';
import { loadLatencyData, requireDevice } from '../dist/data/latency.js';
import { decideDesign, DEFAULT_RULES } from '../dist/scale/design.js';
import { budgetsAt } from '../dist/scale/evaluate.js';
import { DesignOptimiser } from '../dist/scale/optimiser.js';
import { PairPredictor } from '../dist/scale/pair.js';
import { getTask } from '../dist/transfer/tasks.js';
import { median } from '../dist/util/stats.js';
import { loadTfjsWasm } from '../dist/runtimes/tfjs.js';
await loadTfjsWasm();
const d = loadLatencyData('nb201');
const read = (name) => JSON.parse(readFileSync(`.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
const pp = PairPredictor.fromState(d, read('pair'));
const opt = DesignOptimiser.fromState(d, read('opt'));
const rule = DEFAULT_RULES.nb201;
const help = getTask('nb201-help');
const cases = help.test.map((dev) => { const t = requireDevice(d, dev); return { refs: d.referenceArchs.map((a) => t[a]), budgets: budgetsAt(t, [0.25, 0.5, 0.75]) }; });
const timing = () => { const all = []; for (const c of cases) { const runs = c.budgets.map(() => []); for (let r = 0; r < 21; r++) { const t0 = performance.now(); const dp = pp.forDevice(c.refs); const cal = performance.now() - t0; c.budgets.forEach((b, qi) => { const t1 = performance.now(); decideDesign(opt, dp, b, d.accuracy, rule); runs[qi].push(cal / 3 + performance.now() - t1); }); } all.push(...runs.map(median)); } return (all.reduce((a, b) => a + b) / all.length).toFixed(3); };
if (process.env.POLY) {
  const mlp = await PairPredictor.train(d, help.train, { steps: 20, form: 'mlp' });
  for (const c of cases) { const dp = mlp.forDevice(c.refs); for (const b of c.budgets) decideDesign(opt, dp, b, d.accuracy, rule); mlp.forDevice(c.refs, { additive: false }); pp.forDevice(c.refs, { additive: false }); }
  const f = loadLatencyData('fbnet');
  const fm = await PairPredictor.train(f, getTask('fbnet-help').train, { steps: 20 });
  for (const dev of getTask('fbnet-help').test) { const t = requireDevice(f, dev); fm.forDevice(f.referenceArchs.map((a) => t[a])); }
}
console.log(process.env.POLY ? 'after other shapes' : 'clean', [timing(), timing(), timing(), timing()].join(' '));
