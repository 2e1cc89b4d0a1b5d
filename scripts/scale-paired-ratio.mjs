// The per-device search and the design optimiser timed back to back in the same window of the
// machine (this VM runs up to 1.8× slower in windows of seconds): per HELP test device and budget,
// 3 search runs (`latencylab nas`'s path), each followed by 21 optimiser runs (calibration counted
// in equal shares over 3 budgets), medians; the ratio per pair. Uses the networks cached by
// scripts/scale-calibration-study.mjs. After npm run build:  node scripts/scale-paired-ratio.mjs
import { readFileSync } from 'node:fs';
import { loadLatencyData, requireDevice } from '../dist/data/latency.js';
import { decideDesign, DEFAULT_RULES } from '../dist/scale/design.js';
import { budgetsAt } from '../dist/scale/evaluate.js';
import { DesignOptimiser } from '../dist/scale/optimiser.js';
import { PairPredictor } from '../dist/scale/pair.js';
import { getTask } from '../dist/transfer/tasks.js';
import { median } from '../dist/util/stats.js';
import { runNas } from '../dist/nas/run.js';
import { loadTfjsWasm } from '../dist/runtimes/tfjs.js';
const tf = await loadTfjsWasm();
const d = loadLatencyData('nb201');
const read = (name) => JSON.parse(readFileSync(`.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
const pp = PairPredictor.fromState(d, read('pair'));
const opt = DesignOptimiser.fromState(d, read('opt'));
const rule = DEFAULT_RULES.nb201;
let t = performance.now();
const test = getTask('nb201-help').test;
await runNas(tf, { device: test[0], budgetMs: budgetsAt(requireDevice(d, test[0]), [0.5])[0], samples: 10, sampler: 'stratified', seed: 1 });
console.log('pretrain s', ((performance.now() - t) / 1000).toFixed(1));
const optTime = (refs, b) => { const xs = []; for (let r = 0; r < 21; r++) { const t0 = performance.now(); const dp = pp.forDevice(refs); const c = performance.now() - t0; const t1 = performance.now(); decideDesign(opt, dp, b, d.accuracy, rule); xs.push(c / 3 + performance.now() - t1); } return median(xs); };
const rows = [];
for (const device of test) {
  const truth = requireDevice(d, device);
  const refs = d.referenceArchs.map((a) => truth[a]);
  for (const b of budgetsAt(truth, [0.25, 0.5, 0.75])) {
    for (let k = 0; k < 3; k++) {
      const t1 = performance.now();
      await runNas(tf, { device, budgetMs: b, samples: 10, sampler: 'stratified', seed: 1 });
      const s = performance.now() - t1;
      const o = optTime(refs, b);
      rows.push({ s, o, ratio: s / o });
    }
  }
}
const m = (k) => median(rows.map((r) => r[k]));
console.log(`search ${m('s').toFixed(1)} ms, optimiser ${m('o').toFixed(3)} ms, paired ratio median ${m('ratio').toFixed(0)}× (p10 ${[...rows.map((r) => r.ratio)].sort((a, b) => a - b)[Math.floor(rows.length * 0.1)].toFixed(0)}, p90 ${[...rows.map((r) => r.ratio)].sort((a, b) => a - b)[Math.floor(rows.length * 0.9)].toFixed(0)}); ratio of medians ${(m('s') / m('o')).toFixed(0)}×`);
console.log(rows.map((r) => `${r.s.toFixed(0)}/${r.o.toFixed(3)}`).join(' '));
