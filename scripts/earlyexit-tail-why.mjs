// Which requests form a cache server's 1-client tail (bench:earlyexit-http's warm-up, then N
// sequential requests; per request client latency vs the engine's own latencyMs, exit, audited;
// the top 5 % classified and grouped in bursts). Needs the full Fashion-MNIST. After npm run build:
//   MODE=on|off CACHE_ARGS='--fused' N=4000 node scripts/earlyexit-tail-why.mjs
// PROC=1 also prints each node process's user / system CPU, page faults and context switches (/proc).
import http from 'node:http';
import { requireFull, startCacheServer } from '../dist/bench/earlyexit-common.js';
import { loadTest } from '../dist/serve/loadtest.js';
const test = requireFull('t10k');
const side = test.rows;
const bodies = Array.from({ length: test.count }, (_, i) => JSON.stringify({ width: side, height: test.cols, pixels: [...test.pixels.subarray(i * side * test.cols, (i + 1) * side * test.cols)] }));
const mode = process.env.MODE ?? 'on';
const srv = await startCacheServer(['--model', 'fmnist', ...(mode === 'off' ? ['--no-cache'] : []), ...(process.env.CACHE_ARGS ?? '').split(' ').filter(Boolean)]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const post = (body) => new Promise((resolve, reject) => {
  const req = http.request(`${srv.url}/v1/classify`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    let d = ''; res.on('data', (c) => (d += c)); res.on('end', () => resolve(JSON.parse(d))); res.on('error', reject);
  });
  req.on('error', reject); req.end(body);
});
try {
  await loadTest(`${srv.url}/v1/classify`, bodies, { requests: 5000, concurrency: 1 });
  const N = Number(process.env.N ?? 4000);
  const rows = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    const r = await post(bodies[(5000 + i) % bodies.length]);
    rows.push({ i, ms: Number(process.hrtime.bigint() - t) / 1e6, server: r.latencyMs, exit: r.exit === 'backbone' ? 'none' : `#${r.exit.cache}`, audited: r.audited });
  }
  const sorted = [...rows].sort((a, b) => a.ms - b.ms);
  const p95 = sorted[Math.floor(0.95 * N)].ms;
  console.log(mode, 'p50', sorted[N >> 1].ms.toFixed(3), 'p95', p95.toFixed(3));
  const tail = rows.filter((r) => r.ms >= p95);
  const prevAudited = tail.filter((r) => r.i > 0 && rows[r.i - 1].audited).length;
  const by = {}; for (const r of tail) by[r.exit] = (by[r.exit] ?? 0) + 1;
  const all = {}; for (const r of rows) all[r.exit] = (all[r.exit] ?? 0) + 1;
  console.log('tail by exit', JSON.stringify(by), 'all', JSON.stringify(all), 'tail after an audited request', prevAudited, 'audited in tail', tail.filter((r) => r.audited).length, 'of', tail.length);
  const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log('tail: median client ms', med(tail.map((r) => r.ms)).toFixed(3), 'median server ms', med(tail.map((r) => r.server)).toFixed(3), '| all: client-server median', med(rows.map((r) => r.ms - r.server)).toFixed(3), 'tail client-server median', med(tail.map((r) => r.ms - r.server)).toFixed(3));
  const idx = tail.map((r) => r.i); const bursts = []; let cur = [idx[0]]; for (const k of idx.slice(1)) { if (k - cur.at(-1) <= 3) cur.push(k); else { bursts.push(cur); cur = [k]; } } bursts.push(cur);
  console.log('tail bursts (≤3 apart):', bursts.length, 'sizes', bursts.map((b) => b.length).sort((a, b) => b - a).slice(0, 15).join(','), '| starts', bursts.filter((b) => b.length >= 3).map((b) => b[0]).join(','));
  for (const q of [0.5, 0.9, 0.95]) { const s = rows.filter((r) => r.exit === 'none').map((r) => r.ms).sort((a, b) => a - b); console.log(`no-exit client q${q}`, s[Math.floor(q * s.length)]?.toFixed(3)); }
  if (process.env.PROC === '1') {
    const { readdirSync, readFileSync } = await import('node:fs');
    for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      let cmd = ''; try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { continue; }
      if (!/node/.test(cmd) || pid === String(process.pid)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      console.log(pid, cmd.slice(0, 80), 'utime s', (f[11] / 100).toFixed(1), 'stime s', (f[12] / 100).toFixed(1), 'minflt', f[7], 'majflt', f[9], 'vol/invol ctx', /voluntary_ctxt_switches:\s+(\d+)/.exec(st)[1], /nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
    }
  }
} finally { srv.stop(); }
