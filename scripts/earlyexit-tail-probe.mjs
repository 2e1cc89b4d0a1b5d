// bench:earlyexit-http's servers at one concurrency only: after the bench's 5,000-request warm-up,
// REPS alternating runs of 2,000 requests (plain, caching), p50/p95 per run — how the tail moves
// as the caches settle. Needs the full Fashion-MNIST (as the bench). After npm run build:
//   UV_THREADPOOL_SIZE=1 node bin/measure-run.js scripts/earlyexit-tail-probe.mjs   (CONC=1 REPS=4 CACHE_ARGS='--train-duty 0.1')
import { requireFull, startCacheServer } from '../dist/bench/earlyexit-common.js';
import { loadTest } from '../dist/serve/loadtest.js';
const test = requireFull('t10k');
const side = test.rows;
const bodies = Array.from({ length: test.count }, (_, i) => JSON.stringify({ width: side, height: test.cols, pixels: [...test.pixels.subarray(i * side * test.cols, (i + 1) * side * test.cols)] }));
const extra = (process.env.CACHE_ARGS ?? '').split(' ').filter(Boolean);
const servers = { off: await startCacheServer(['--model', 'fmnist', '--no-cache']), on: await startCacheServer(['--model', 'fmnist', ...extra]) };
const conc = Number(process.env.CONC ?? 1), reps = Number(process.env.REPS ?? 4);
try {
  for (const s of Object.values(servers)) await loadTest(`${s.url}/v1/classify`, bodies, { requests: 5000, concurrency: 1 });
  let offset = 5000;
  const res = { off: [], on: [] };
  for (let r = 0; r < reps; r++) for (const m of r % 2 ? ['on', 'off'] : ['off', 'on']) {
    const x = await loadTest(`${servers[m].url}/v1/classify`, bodies, { requests: 2000, concurrency: conc, offset });
    res[m].push(x); offset += 2000;
  }
  for (const m of ['off', 'on']) console.log(m, 'req/s', res[m].map((x) => x.throughput.toFixed(0)).join(' '), '| p50', res[m].map((x) => x.p50.toFixed(3)).join(' '), '| p95', res[m].map((x) => x.p95.toFixed(3)).join(' '));
} finally { servers.off.stop(); servers.on.stop(); }
