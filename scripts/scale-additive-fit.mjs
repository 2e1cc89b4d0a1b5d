// How additive each device's latency table is (reports/scale-history.md, session 19): a ridge in ms
// (and in log ms) fitted on the whole table over op counts ('count') or one-hot ops per position
// ('edge'); share of architectures within ±5 % / ±10 %.
//   npm run build && node scripts/scale-additive-fit.mjs [nb201|fbnet]
import { loadLatencyData } from '../dist/data/latency.js';
import { solveRidge } from '../dist/regressors/ridge.js';
const space = process.argv[2] ?? 'nb201';
const nb = loadLatencyData(space);
const O = space === 'nb201' ? 5 : 9;
const P = nb.ops[0].length;
const featCount = (o) => { const c = new Array(O).fill(0); o.forEach((op) => c[op]++); return c.slice(1); };
const featEdge = (o) => { const c = new Array(P * (O - 1)).fill(0); o.forEach((op, e) => op > 0 && (c[e * (O - 1) + op - 1] = 1)); return c; };
for (const [name, feat] of [['count', featCount], ['edge', featEdge]]) {
  for (const d of nb.devices) {
    const lat = nb.latency.get(d);
    for (const space of ['ms', 'log']) {
      const X = nb.ops.map((o) => [...feat(o)]);
      const y = Array.from(lat, (v) => (space === 'ms' ? v : Math.log(v)));
      const ym = y.reduce((a, b) => a + b, 0) / y.length;
      const xm = X[0].map((_, j) => X.reduce((s, r) => s + r[j], 0) / X.length);
      const w = solveRidge(X.map((r) => r.map((v, j) => v - xm[j])), y.map((v) => v - ym), 1e-6);
      const pred = X.map((r) => ym + r.reduce((s, v, j) => s + (v - xm[j]) * w[j], 0));
      const ape = pred.map((p, i) => Math.abs((space === 'ms' ? p : Math.exp(p)) / lat[i] - 1));
      const w10 = ape.filter((e) => e <= 0.1).length / ape.length;
      const w5 = ape.filter((e) => e <= 0.05).length / ape.length;
      if (space === 'ms' || true) process.stdout.write(`${name} ${space} ${d.padEnd(15)} ±5% ${(100 * w5).toFixed(0)} ±10% ${(100 * w10).toFixed(0)}\n`);
    }
  }
}
