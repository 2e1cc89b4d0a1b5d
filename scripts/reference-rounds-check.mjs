// How a slow phase of the host shows in one chunk: the same N configurations of a module measured
// in two runs, chunk by chunk with the module's reference configuration interleaved (as profile
// --reference does), every round median of every configuration and of its chunk's reference kept.
// Prints how well run B reproduces run A under several ways of putting a measurement at the quiet
// state, and the configurations furthest apart with their rounds (configuration round median /
// reference round median ÷ the quietest reference) — what showed, in session 48, that one slow
// phase slows the reference 1.4–1.9× and each configuration by its own factor (1.15–1.9×), so no
// ratio to the reference repairs a chunk measured inside it (src/profile/quiet-gate.ts).
// Run alone: it takes latency figures.
//   npm run build && node bin/measure-run.js scripts/reference-rounds-check.mjs
//   MODULE=conv2d N=240 SHOW=10
import { getModule } from '../dist/modules/index.js';
import { getRuntime } from '../dist/runtimes/index.js';
import { planConfigs } from '../dist/profile/sampler.js';
import { defaultSpace } from '../dist/profile/space.js';
import { measureChunk, referenceParams } from '../dist/profile/profiler.js';
import { DEFAULT_TIMING } from '../dist/profile/timer.js';
import { Rng } from '../dist/util/random.js';
import { median } from '../dist/util/stats.js';

const MODULE = process.env.MODULE ?? 'conv2d';
const N = Number(process.env.N ?? 240);
const m = getModule(MODULE);
const space = defaultSpace(m);
space.device = { threads: [1], optLevel: ['all'], load: [{ workers: 0, duty: 0 }] };
const plan = planConfigs(m, space, 'random', N, 21).configs;
const rt = getRuntime('ort-cpu');
const ref = { params: referenceParams(m), device: plan[0].device };
const runs = [];
for (const run of [0, 1]) {
  const order = new Rng(100 + run).shuffle(plan.map((_, i) => i));
  const res = new Array(N);
  for (let c = 0; c < N; c += 8) {
    const idx = order.slice(c, c + 8);
    const r = await measureChunk(rt, m, [...idx.map((i) => plan[i]), ref], DEFAULT_TIMING, 7 + c + 1000 * run);
    const refRounds = r.at(-1).timing.roundMediansMs;
    idx.forEach((i, k) => { res[i] = { lat: r[k].timing.latencyMs, rounds: r[k].timing.roundMediansMs, refRounds }; });
  }
  runs.push(res);
  process.stderr.write(`run ${run === 0 ? 'A' : 'B'} measured\n`);
}
const quietest = Math.min(...runs.flat().flatMap((r) => r.refRounds));
const methods = {
  'lowest round median (as stored)': (r) => r.lat,
  'lowest round / chunk reference': (r) => (r.lat / Math.min(...r.refRounds)) * quietest,
  'median over rounds of round / reference round': (r) => median(r.rounds.map((x, i) => x / r.refRounds[i])) * quietest,
};
console.log(`${MODULE}, ${N} configurations, ort-cpu 1 thread; reference rounds over 1.2× the quietest: ${((100 * runs.flat().flatMap((r) => r.refRounds).filter((x) => x > 1.2 * quietest).length) / (N * 2 * DEFAULT_TIMING.rounds)).toFixed(1)} % (run A ${((100 * runs[0].flatMap((r) => r.refRounds).filter((x) => x > 1.2 * quietest).length) / (N * DEFAULT_TIMING.rounds)).toFixed(1)} %)`);
for (const [name, f] of Object.entries(methods)) {
  const e = runs[1].map((b, i) => f(b) / f(runs[0][i]));
  const mm = median(e);
  const w = (t) => ((100 * e.filter((x) => Math.abs(x / mm - 1) <= t).length) / e.length).toFixed(1);
  console.log(`${name.padEnd(48)} B/A median ${mm.toFixed(3)}, within ±5 % ${w(0.05)} %, ±10 % ${w(0.1)} %`);
}
const f = methods['median over rounds of round / reference round'];
const worst = runs[1].map((b, i) => ({ i, e: f(b) / f(runs[0][i]) })).sort((a, b) => Math.abs(b.e - 1) - Math.abs(a.e - 1)).slice(0, Number(process.env.SHOW ?? 10));
const fmt = (r) => r.rounds.map((x, k) => `${x.toPrecision(3)}/${(r.refRounds[k] / quietest).toFixed(2)}`).join(' ');
for (const { i, e } of worst) console.log(`B/A ${e.toFixed(2)} ${JSON.stringify(plan[i].params)}\n   A ${fmt(runs[0][i])}\n   B ${fmt(runs[1][i])}`);
