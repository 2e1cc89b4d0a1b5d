/**
 * The HTTP part of bench:earlyexit, also runnable alone (`npm run bench:earlyexit-http`, writes
 * reports/earlyexit-http.md): `latencylab cache serve` with caching off and on, each in a child
 * process; after a sequential warm-up (the caches learn), closed-loop load at several concurrency
 * levels, alternating off/on per repeat so both see the same machine. Training keeps running
 * during the measured load (the rounds and trainer CPU during each are reported).
 */
import { markdownTable } from '../cli/table.js';
import type { ImageSet } from '../data/fmnist.js';
import { DEFAULT_ENGINE } from '../earlyexit/engine-options.js';
import { describeMachine, machineLabel } from '../profile/environment.js';
import { loadTest, type LoadTestResult } from '../serve/loadtest.js';
import { median } from '../util/stats.js';
import { log, ms, pct, requireFull, runIfMain, startCacheServer, writeReport } from './earlyexit-common.js';


interface ServerStats {
  requests: number;
  flopsPerRequest: number;
  backboneFlops: number;
  caches: Array<{ exits: number }>;
  retrains: number;
  maintenance: { trainerCpuSeconds: number; trainerRssBytes: number; trainFlops: number; viewFlops: number };
  process: { cpuSeconds: number; rssBytes: number };
  requestMsTotal: number;
}

const stats = async (url: string) => (await (await fetch(`${url}/v1/stats`)).json()) as ServerStats;

export interface HttpRun {
  mode: 'off' | 'on';
  concurrency: number;
  repeat: number;
  r: LoadTestResult;
  /** server-side during this load: requests, early exits, FLOPs (requests + training + views), CPU of server and trainer, training rounds */
  requests: number;
  exits: number;
  requestFlops: number;
  maintenanceFlops: number;
  serverCpuS: number;
  /** in-process time answering requests (the model's part of serverCpuS) */
  modelS: number;
  trainerCpuS: number;
  rounds: number;
}

export interface HttpBench {
  runs: HttpRun[];
  warmRequests: number;
  loadRequests: number;
  levels: number[];
  repeats: number;
  backboneFlops: number;
  rss: { off: number; on: number; trainer: number };
}

/**
 * The bench's load plan. Warm-up: the first half of the 10,000-image stream, as issue #16's targets
 * are on its second half (the caches' steady state). Each repeat visits the levels in a rotated
 * order, so that no level is always measured with the least-trained caches of its repeat (with a
 * fixed 1, 2, 4, 8 order the 1-client runs came first every time).
 */
export function httpBenchPlan(quick: boolean): { warm: number; load: number; levels: number[]; repeats: number } {
  return { warm: quick ? 1500 : 5000, load: quick ? 1000 : 2000, levels: [1, 2, 4, 8], repeats: quick ? 1 : 4 };
}

/** the levels in repeat `rep`'s order: rotated by one place per repeat */
export function levelOrder(levels: number[], rep: number): number[] {
  const k = rep % levels.length;
  return [...levels.slice(k), ...levels.slice(0, k)];
}

/** `cacheArgs`: extra `cache serve` options for the caching server (studies compare engine settings) */
export async function runHttpBench(test: ImageSet, o: { warm: number; load: number; levels: number[]; repeats: number; cacheArgs?: string[] }): Promise<HttpBench> {
  const side = test.rows;
  const bodies = Array.from({ length: test.count }, (_, i) => JSON.stringify({ width: side, height: test.cols, pixels: [...test.pixels.subarray(i * side * test.cols, (i + 1) * side * test.cols)] }));
  const servers = { off: await startCacheServer(['--model', 'fmnist', '--no-cache']), on: await startCacheServer(['--model', 'fmnist', ...(o.cacheArgs ?? [])]) };
  try {
    log(`http: warm-up, ${o.warm} sequential requests each`);
    let offset = 0;
    for (const s of Object.values(servers)) await loadTest(`${s.url}/v1/classify`, bodies, { requests: o.warm, concurrency: 1 });
    offset += o.warm;
    const runs: HttpRun[] = [];
    let backboneFlops = 0;
    for (let rep = 0; rep < o.repeats; rep++) {
      for (const c of levelOrder(o.levels, rep)) {
        const order = (rep + o.levels.indexOf(c)) % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
        for (const mode of order) {
          const url = servers[mode].url;
          const a = await stats(url);
          const r = await loadTest(`${url}/v1/classify`, bodies, { requests: o.load, concurrency: c, offset });
          const b = await stats(url);
          backboneFlops = b.backboneFlops;
          const exits = (s: ServerStats) => s.caches.reduce((x, k) => x + k.exits, 0);
          const mf = (s: ServerStats) => s.maintenance.trainFlops + s.maintenance.viewFlops;
          runs.push({
            mode,
            concurrency: c,
            repeat: rep,
            r,
            requests: b.requests - a.requests,
            exits: exits(b) - exits(a),
            requestFlops: b.flopsPerRequest * b.requests - a.flopsPerRequest * a.requests,
            maintenanceFlops: mf(b) - mf(a),
            serverCpuS: b.process.cpuSeconds - a.process.cpuSeconds,
            modelS: (b.requestMsTotal - a.requestMsTotal) / 1000,
            trainerCpuS: b.maintenance.trainerCpuSeconds - a.maintenance.trainerCpuSeconds,
            rounds: b.retrains - a.retrains,
          });
          log(`  c=${c} ${mode}: ${r.throughput.toFixed(0)} req/s, p95 ${ms(r.p95)} ms`);
        }
        offset += o.load;
      }
    }
    const [off, on] = [await stats(servers.off.url), await stats(servers.on.url)];
    return { runs, warmRequests: o.warm, loadRequests: o.load, levels: o.levels, repeats: o.repeats, backboneFlops, rss: { off: off.process.rssBytes, on: on.process.rssBytes, trainer: on.maintenance.trainerRssBytes } };
  } finally {
    servers.off.stop();
    servers.on.stop();
  }
}

/** The report section: throughput and tail latency per concurrency, and the whole compute bill per 1,000 requests. */
export function httpSection(b: HttpBench, heading: string): string {
  const med = (xs: number[]) => median(xs);
  const spread = (xs: number[]) => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : '');
  const rows: Array<Array<string | number>> = [];
  const costRows: Array<Array<string | number>> = [];
  const ratios: number[] = [];
  for (const c of b.levels) {
    const of = (m: 'off' | 'on') => b.runs.filter((r) => r.mode === m && r.concurrency === c);
    const off = of('off');
    const on = of('on');
    const tpOff = off.map((r) => r.r.throughput);
    const tpOn = on.map((r) => r.r.throughput);
    const ratio = med(tpOn) / med(tpOff);
    ratios.push(ratio);
    const p95Off = med(off.map((r) => r.r.p95));
    const p95On = med(on.map((r) => r.r.p95));
    const sum = (rs: HttpRun[], f: (r: HttpRun) => number) => rs.reduce((a, r) => a + f(r), 0);
    const req = (rs: HttpRun[]) => sum(rs, (r) => r.requests);
    rows.push([
      c,
      `${med(tpOff).toFixed(0)}${spread(tpOff)}`,
      `${med(tpOn).toFixed(0)}${spread(tpOn)}`,
      `**${ratio.toFixed(2)}×**`,
      `${ms(med(off.map((r) => r.r.p50)))} / ${ms(med(on.map((r) => r.r.p50)))}`,
      `${ms(p95Off)} / ${ms(p95On)}`,
      p95On <= p95Off ? 'yes' : 'no',
      sum(on, (r) => r.rounds),
      pct(sum(on, (r) => r.exits) / Math.max(1, req(on))),
      sum([...off, ...on], (r) => r.r.errors),
    ]);
    const per1k = (rs: HttpRun[], f: (r: HttpRun) => number) => (1000 * sum(rs, f)) / Math.max(1, req(rs));
    costRows.push([
      c,
      `${per1k(off, (r) => r.serverCpuS).toFixed(2)}`,
      `${per1k(on, (r) => r.serverCpuS).toFixed(2)} + ${per1k(on, (r) => r.trainerCpuS).toFixed(2)} = ${per1k(on, (r) => r.serverCpuS + r.trainerCpuS).toFixed(2)}`,
      `${(per1k(off, (r) => r.requestFlops) / 1e9).toFixed(1)}`,
      `${(per1k(on, (r) => r.requestFlops) / 1e9).toFixed(1)} + ${(per1k(on, (r) => r.maintenanceFlops) / 1e9).toFixed(1)} = ${(per1k(on, (r) => r.requestFlops + r.maintenanceFlops) / 1e9).toFixed(1)}`,
      pct(1 - per1k(on, (r) => r.requestFlops + r.maintenanceFlops) / per1k(off, (r) => r.requestFlops)),
      `${per1k(off, (r) => r.modelS).toFixed(2)} / ${per1k(on, (r) => r.modelS).toFixed(2)}`,
      // with the CPU saturated, throughput follows CPU per request: what the cache saves of the
      // model's time, and nothing else (no training, no audits), bounds the ratio
      `${(per1k(off, (r) => r.serverCpuS) / (per1k(off, (r) => r.serverCpuS) - (per1k(off, (r) => r.modelS) - per1k(on, (r) => r.modelS)))).toFixed(2)}×`,
    ]);
  }
  const worst = Math.min(...ratios);
  return `${heading}
Two servers in child processes (\`latencylab cache serve --model fmnist\`, with \`--no-cache\` for the plain model; 1 ORT thread each; cache heads train in the caching server's trainer process), the client in the bench process, all on the same ${describeMachine().cores} cores. ${b.warmRequests} sequential warm-up requests per server (the caches learn; the caching server audits every request in full until it holds its ${DEFAULT_ENGINE.minCalibration} calibration records, ~${Math.round(Number(DEFAULT_ENGINE.minCalibration) / DEFAULT_ENGINE.calibrationShare)} requests), then ${b.loadRequests} requests per run from closed-loop clients at each concurrency, ${b.repeats} repeat(s), each visiting the levels in a rotated order (repeat 1: ${levelOrder(b.levels, 0).join(', ')}; repeat 2: ${levelOrder(b.levels, 1).join(', ')}; …: no level always meets the least-trained caches of its repeat), plain and caching runs alternating (order swapped per level and repeat). JSON bodies of 784 pixels; latency client-side; medians over repeats (range in brackets). Training keeps running during the measured load: the rounds that ran are counted.

| clients | plain req/s | caching req/s | ratio | p50 ms plain / caching | p95 ms plain / caching | p95 no worse | training rounds during | early exits | errors |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

Worst throughput ratio over the levels: **${worst.toFixed(2)}×** (target ≥ 1.3× with p95 no worse).

Compute per 1,000 requests during the same runs — CPU seconds of the serving process (+ the trainer process), and FLOPs of the requests (incl. finishing audits) + training and calibration views:

| clients | CPU s plain | CPU s caching (server + trainer) | GFLOPs plain | GFLOPs caching (requests + maintenance) | FLOPs saved incl. training | of which answering requests (s) plain / caching | throughput ceiling |
| --- | --- | --- | --- | --- | --- | --- | --- |
${costRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

"Answering requests" is the time inside the server's request handler from input tensor to label (the model, and the cascade's segments and heads); the rest of a server's CPU is HTTP, JSON, fastify and the kernel's socket writes, which caching cannot shorten. **Throughput ceiling** = plain CPU per request ÷ (plain CPU per request − the answering time caching saved): the ratio caching could reach with the CPU saturated if training, audits and re-planning cost nothing. Where it is below 1.3×, the target cannot be met by this model behind this HTTP stack on this machine, however good the caches.

Memory at the end: plain server ${(b.rss.off / 2 ** 20).toFixed(0)} MiB RSS; caching server ${(b.rss.on / 2 ** 20).toFixed(0)} MiB + trainer process ${(b.rss.trainer / 2 ** 20).toFixed(0)} MiB.
`;
}

async function main() {
  const test = requireFull('t10k');
  const quick = process.env.BENCH_QUICK === '1';
  const b = await runHttpBench(test, httpBenchPlan(quick));
  const m = describeMachine();
  writeReport('earlyexit-http', `# Early exits under HTTP load\n\nGenerated by \`npm run bench:earlyexit-http\`${quick ? ' (BENCH_QUICK=1)' : ''} on ${machineLabel()}, Node ${m.node}. The same section is part of \`npm run bench:earlyexit\` (reports/earlyexit.md).\n\n${httpSection(b, '## HTTP load test')}`, b);
}

runIfMain(import.meta.url, main);
