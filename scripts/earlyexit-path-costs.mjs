// Where a request's time goes on each path of the cascade (bench:earlyexit's stream, seed 1): per
// path of the second half (exit cache, or none; told apart by FLOPs), its share and mean latency,
// next to the sum of the in-situ segment costs the engine measured along it (LiveCosts), so the
// rest is the request path's own work (JS, records). Needs the full Fashion-MNIST. After npm run build:
//   node bin/measure-run.js scripts/earlyexit-path-costs.mjs      (N=10000)
import { requireFull, runStream } from '../dist/bench/earlyexit-common.js';
import { imageAsInput, streamOrder } from '../dist/data/fmnist.js';
import { openCacheTarget, startEngine } from '../dist/earlyexit/setup.js';
const N = Number(process.env.N ?? 10000);
const test = requireFull('t10k');
const t = await openCacheTarget('fmnist');
const { engine, costs } = await startEngine(t, { seed: 1 });
const order = streamOrder(test, N, false);
const run = await runStream(t, costs, engine, N, (i) => imageAsInput(test, order[i]), (i) => test.labels[order[i]]);
const second = run.records.slice(N / 2).filter((r) => !r.audited);
const groups = new Map();
for (const r of second) {
  const k = `${r.exit ?? 'none'} @ ${(r.flops / 1e6).toFixed(2)} MFLOPs`;
  const g = groups.get(k) ?? { n: 0, ms: 0, base: 0 };
  g.n++;
  g.ms += r.latencyMs;
  g.base += r.baselineMs;
  groups.set(k, g);
}
const total = second.reduce((a, r) => a + r.latencyMs, 0);
console.log(`second half, not audited: ${second.length} requests, mean ${(total / second.length).toFixed(3)} ms, backbone ${(second.reduce((a, r) => a + r.baselineMs, 0) / second.length).toFixed(3)} ms`);
for (const [k, g] of [...groups].sort((a, b) => b[1].n - a[1].n)) {
  if (g.n < 20) continue;
  console.log(`${k.padEnd(24)} ${(100 * g.n / second.length).toFixed(1).padStart(5)} %  mean ${(g.ms / g.n).toFixed(3)} ms (backbone ${(g.base / g.n).toFixed(3)})  share of time ${(100 * g.ms / total).toFixed(1)} %`);
}
const live = engine.live;
console.log('in-situ segment costs (ms, EWMA, observations):', [...live.segments].map(([k, r]) => `${k} ${r.mean.toFixed(3)} (${r.n})`).join(', '));
console.log('profile (tight loop): full', costs.full.toFixed(3), 'blocks', costs.fine.map((x) => x.toFixed(3)).join(' '), 'split', costs.splitOverhead.toFixed(3));
console.log('plan at the end:', JSON.stringify(engine.cascade));
await engine.dispose();
