// Where the caching server's CPU goes under closed-loop load, beside the plain server's: per
// request, the serving process's CPU (all its threads: V8's collector helpers too), the time inside
// classify, finishing audits, re-planning, training rounds and the trainer process's CPU.
// Both servers are `latencylab cache serve --model fmnist` children (--no-cache = plain), warmed
// with WARM (4,000) sequential requests, then measured alternately. Needs the full Fashion-MNIST test set
// (as bench:earlyexit-http) and a build; run it alone on the machine.
//   npm run build && node scripts/serve-cpu-split.mjs
//   WARM=12000 C=2 REPS=4 N=4000 ON_ARGS='--train-budget 0.0001' NODE_FLAGS='--single-threaded-gc' node scripts/serve-cpu-split.mjs
import { spawn } from 'node:child_process';
import { requireFull } from '../dist/bench/earlyexit-common.js';
import { loadTest } from '../dist/serve/loadtest.js';

const test = requireFull('t10k');
const side = test.rows;
const bodies = Array.from({ length: test.count }, (_, i) => JSON.stringify({ width: side, height: test.cols, pixels: [...test.pixels.subarray(i * side * test.cols, (i + 1) * side * test.cols)] }));
const words = (v) => (v ?? '').split(' ').filter(Boolean);
const start = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...words(process.env.NODE_FLAGS), 'bin/latencylab.js', 'cache', 'serve', '--port', '0', '--model', 'fmnist', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`cache serve exited with ${code}`)));
  });
const servers = { off: await start(['--no-cache']), on: await start(words(process.env.ON_ARGS)) };
try {
  const warm = Number(process.env.WARM ?? 4000);
  for (const s of Object.values(servers)) await loadTest(`${s.url}/v1/classify`, bodies, { requests: warm, concurrency: 1 });
  const stats = async (s) => (await fetch(`${s.url}/v1/stats`)).json();
  const n = Number(process.env.N ?? 4000);
  for (let rep = 0; rep < Number(process.env.REPS ?? 3); rep++) {
    for (const name of rep % 2 ? ['on', 'off'] : ['off', 'on']) {
      const s = servers[name];
      const a = await stats(s);
      const r = await loadTest(`${s.url}/v1/classify`, bodies, { requests: n, concurrency: Number(process.env.C ?? 1), offset: warm + rep * n });
      const b = await stats(s);
      const per = (x) => ((x * 1000) / n).toFixed(3);
      const m = (k) => (b.maintenance?.[k] ?? 0) - (a.maintenance?.[k] ?? 0);
      const exits = (x) => x.caches.reduce((t, c) => t + c.exits, 0);
      console.log(`${name}: ${r.throughput.toFixed(0)} req/s, p95 ${r.p95.toFixed(3)} ms, early exits ${((100 * (exits(b) - exits(a))) / n).toFixed(1)} % | ms per request: server CPU ${per(b.process.cpuSeconds - a.process.cpuSeconds)}, classify ${per((b.requestMsTotal - a.requestMsTotal) / 1000)}, audits ${per(m('auditMs') / 1000)}, re-plans ${per(m('manageMs') / 1000)}, trainer CPU ${per(m('trainerCpuSeconds'))} (${m('retrains')} rounds)`);
    }
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
}
