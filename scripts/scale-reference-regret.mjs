// How far the space's 10 reference architectures alone are from the best design within a budget
// (accuracy points), on the NB201 HELP validation devices, budgets at the 20th–80th latency
// percentiles: why the measured-reference floor of decideDesign rarely decides on NB201 (session 51).
//   npm run build && node scripts/scale-reference-regret.mjs
import { loadLatencyData, requireDevice } from '../dist/data/latency.js';
import { getTask, validationDevices } from '../dist/transfer/tasks.js';
import { budgetsAt } from '../dist/scale/evaluate.js';
const d = loadLatencyData('nb201');
const help = getTask('nb201-help');
const val = validationDevices(help, d.devices);
const acc = d.accuracy;
const qs = [0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75,0.8];
console.log('refs', d.referenceArchs.map(a=>acc[a].toFixed(2)).join(' '));
for (const dev of val) {
  const lat = requireDevice(d, dev);
  const bs = budgetsAt(lat, qs);
  const out = bs.map((b) => {
    let best = -1, bestRef = -1;
    for (let a = 0; a < lat.length; a++) if (lat[a] <= b && (best < 0 || acc[a] > acc[best])) best = a;
    for (const r of d.referenceArchs) if (lat[r] <= b && (bestRef < 0 || acc[r] > acc[bestRef])) bestRef = r;
    return bestRef < 0 ? 'none' : (acc[best] - acc[bestRef]).toFixed(2);
  });
  console.log(dev, 'ref regret by pct:', out.join(' '));
}
