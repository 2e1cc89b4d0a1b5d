// A preload for `latencylab cache serve` that logs what keeps its serving thread busy: event-loop
// stalls (a 1 ms interval timer that fired more than STALL_MS late) and GC pauses over 1 ms, each
// with its end time, to stderr; at exit, totals per kind over the last WINDOW share of the run
// (the measured requests of a load test come after its warm-up). Session 52 found the 1-client
// tail's stalls this way (reports/earlyexit-history.md). Active only in a `cache serve` process,
// so it can be given to every process through NODE_OPTIONS:
//   npm run build
//   NODE_OPTIONS="--import $PWD/scripts/earlyexit-stall-hooks.mjs" MODE=on N=4000 \
//     node scripts/earlyexit-tail-why.mjs 2> stalls.log; grep '^stalls' stalls.log
// For who ran instead of the server, `perf sched record -a -- sleep 5` during the load, then
// `perf sched timehist` (the scheduling delay of the server's and the client's threads).
import { PerformanceObserver, performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
// the server itself, not its launcher (which re-runs it with the engine's V8 flags, bin/launch-policy.js)
const isServer = args.includes('cache') && args.includes('serve') && process.execArgv.some((a) => a.startsWith('--initial-old-space-size'));
if (isServer) {
  const STALL_MS = Number(process.env.STALL_MS ?? 3);
  const WINDOW = Number(process.env.WINDOW ?? 0.45);
  const stalls = [];
  const gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 1) gcs.push([e.startTime, e.startTime + e.duration, e.detail?.kind ?? 0]);
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > STALL_MS) {
      stalls.push([last, now]);
      process.stderr.write(`stall ${(now - last).toFixed(1)} ms, ended ${now.toFixed(1)}\n`);
    }
    last = now;
  }, 1).unref();
  const report = () => {
    const end = performance.now();
    const from = end - WINDOW * (end - (stalls[0]?.[0] ?? end));
    const inWindow = stalls.filter(([a]) => a >= from);
    const overlapsGc = ([a, b]) => gcs.some(([x, y]) => x < b + 0.5 && y > a - 0.5);
    const sum = (xs) => xs.reduce((s, [a, b]) => s + b - a, 0);
    const gc = inWindow.filter(overlapsGc);
    const other = inWindow.filter((s) => !overlapsGc(s));
    process.stderr.write(`stalls over ${STALL_MS} ms in the last ${Math.round(WINDOW * 100)} % of the run: ${inWindow.length} (${sum(inWindow).toFixed(0)} ms); with a GC pause: ${gc.length} (${sum(gc).toFixed(0)} ms); others: ${other.length} (${sum(other).toFixed(0)} ms), largest ${other.map(([a, b]) => (b - a).toFixed(1)).sort((x, y) => y - x).slice(0, 8).join(', ')}\n`);
  };
  process.once('SIGTERM', () => {
    report();
    process.exit(0);
  });
}
