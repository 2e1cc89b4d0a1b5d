// The HTTP load test of bench:earlyexit on a *validation* stream, for choosing engine settings that
// aim at the tail (issue #16: throughput ≥ 1.3× the plain server with p95 no worse, at every
// concurrency). Per variant, a plain and a caching `cache serve` as in the bench (warm-up on the
// first 5,000 images, then closed-loop runs at each level, plain and caching alternating), on
// Fashion-MNIST *training* images from OFFSET (default 40,000), never the test set the report quotes.
//   npm run build && node bin/measure-run.js scripts/earlyexit-http-tail-study.mjs
//   VARIANTS='[[], ["--train-budget","0.0001"]]' LEVELS=1,2 REPEATS=4 node bin/measure-run.js scripts/earlyexit-http-tail-study.mjs
// (session 51 also ran it with `--tail-guard 0.1,0.05`, an option of commit 61a1671 re-applied for
// that study and removed again: reports/earlyexit-history.md)
import { requireFull } from '../dist/bench/earlyexit-common.js';
import { runHttpBench } from '../dist/bench/earlyexit-http.js';
import { median } from '../dist/util/stats.js';

const offset = Number(process.env.OFFSET ?? 40000);
const N = 10000;
if (!Number.isInteger(offset) || offset < 0 || offset + N > 60000) {
  console.error(`OFFSET: expected an integer in 0..${60000 - N}, got ${process.env.OFFSET}`);
  process.exit(2);
}
let variants;
try {
  variants = JSON.parse(process.env.VARIANTS ?? '[[], ["--train-budget", "0.0001"]]');
  if (!Array.isArray(variants) || !variants.length || variants.some((v) => !Array.isArray(v) || v.some((a) => typeof a !== 'string'))) throw new Error('not an array of string arrays');
} catch (e) {
  console.error(`VARIANTS: expected a JSON array of argument lists for \`cache serve\`, e.g. [[], ["--train-budget","0.0001"]] (${e.message})`);
  process.exit(2);
}
const levels = (process.env.LEVELS ?? '1,2').split(',').map(Number);
const repeats = Number(process.env.REPEATS ?? 4);
if (levels.some((c) => !Number.isInteger(c) || c < 1) || !Number.isInteger(repeats) || repeats < 1) {
  console.error('LEVELS: comma-separated positive integers; REPEATS: a positive integer');
  process.exit(2);
}

const train = requireFull('train');
const side = train.rows * train.cols;
const stream = { ...train, count: N, pixels: train.pixels.subarray(offset * side, (offset + N) * side), labels: train.labels.subarray(offset, offset + N) };

const rows = [];
for (const args of variants) {
  const name = args.length ? args.join(' ') : 'default';
  process.stderr.write(`variant ${name}\n`);
  const b = await runHttpBench(stream, { warm: 5000, load: 2000, levels, repeats, cacheArgs: args });
  for (const c of levels) {
    const of = (mode) => b.runs.filter((r) => r.mode === mode && r.concurrency === c);
    const [off, on] = [of('off'), of('on')];
    const ratios = on.map((r) => r.r.throughput / off.find((o) => o.repeat === r.repeat).r.throughput);
    const p95 = (rs) => median(rs.map((r) => r.r.p95));
    const p95Pairs = on.map((r) => r.r.p95 <= off.find((o) => o.repeat === r.repeat).r.p95);
    const exits = on.reduce((a, r) => a + r.exits, 0) / Math.max(1, on.reduce((a, r) => a + r.requests, 0));
    rows.push(`| ${name} | ${c} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${p95(off).toFixed(3)} / ${p95(on).toFixed(3)} | ${p95Pairs.filter(Boolean).length} of ${p95Pairs.length} | ${(100 * exits).toFixed(1)} % |`);
  }
}
console.log(`HTTP tail study: ${N} Fashion-MNIST training images from ${offset}, levels ${levels.join(', ')}, ${repeats} repeats; medians over repeats\n`);
console.log('| caching server options | clients | throughput ratio, median (range) | p95 ms plain / caching | repeats with p95 no worse | early exits |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
