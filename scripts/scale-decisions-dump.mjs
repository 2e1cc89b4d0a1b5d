// Every NB201 design decision of the validation protocol and the test devices (budgets at 10–90 %,
// 256–4,096 candidates, z 0–1, with and without the cap, and the 4-design shortlists) as one JSON
// file, to show a change to the design path leaves them identical (session 47: 2,337 decisions).
// Uses the networks cached by scripts/scale-calibration-study.mjs. After npm run build:
//   node scripts/scale-decisions-dump.mjs /tmp/before.json   (change, build)   node scripts/scale-decisions-dump.mjs /tmp/after.json && cmp /tmp/before.json /tmp/after.json
import { readFileSync, writeFileSync } from 'node:fs';
import { loadLatencyData, requireDevice } from '../dist/data/latency.js';
import { decideDesign, shortlistDesigns } from '../dist/scale/design.js';
import { budgetsAt } from '../dist/scale/evaluate.js';
import { DesignOptimiser } from '../dist/scale/optimiser.js';
import { PairPredictor } from '../dist/scale/pair.js';
import { getTask, validationDevices } from '../dist/transfer/tasks.js';
const d = loadLatencyData('nb201');
const read = (name) => JSON.parse(readFileSync(`.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
const pp = PairPredictor.fromState(d, read('pair'));
const opt = DesignOptimiser.fromState(d, read('opt'));
const help = getTask('nb201-help');
const out = [];
for (const dev of [...validationDevices(help, d.devices), ...help.train, ...help.test]) {
  const p = help.train.includes(dev) ? PairPredictor.fromState(d, read(`loo-${dev}`)) : pp;
  const t = requireDevice(d, dev);
  const dp = p.forDevice(d.referenceArchs.map((a) => t[a]));
  for (const b of budgetsAt(t, [0.1, 0.25, 0.5, 0.75, 0.9])) for (const cands of [256, 512, 1024, 4096]) for (const z of [0, 0.5, 1]) for (const cap of [0.1, undefined]) {
    const a = decideDesign(opt, dp, b, d.accuracy, { candidates: cands, z, maxMargin: cap });
    out.push([dev, b, cands, z, cap, a.arch, a.predictedMs.toPrecision(12), a.checked]);
  }
  for (const b of budgetsAt(t, [0.25, 0.5, 0.75])) out.push(shortlistDesigns(opt, dp, b, d.accuracy, { candidates: 512, z: 0.5, maxMargin: 0.1 }, 4, 0).map((x) => [x.arch, x.predictedMs.toPrecision(12)]));
}
writeFileSync(process.argv[2], JSON.stringify(out));
console.log(out.length, 'decisions');
