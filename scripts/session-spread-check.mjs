// Do fresh onnxruntime sessions of the same configuration run at different speeds (memory layout,
// alignment)? N conv2d configurations, each prepared 3 times in one chunk (3 sessions, rounds
// interleaved as the profiler does): the spread max / min of the three latencies (session 48:
// median 1.8 %, 3 % of configurations over 10 % — sessions are not what makes re-measurements
// disagree). Run alone: it takes latency figures.
//   npm run build && node bin/measure-run.js scripts/session-spread-check.mjs   (N=40)
import { getModule } from '../dist/modules/index.js';
import { getRuntime } from '../dist/runtimes/index.js';
import { planConfigs } from '../dist/profile/sampler.js';
import { defaultSpace } from '../dist/profile/space.js';
import { measureChunk, referenceParams } from '../dist/profile/profiler.js';
import { DEFAULT_TIMING } from '../dist/profile/timer.js';
const m = getModule('conv2d');
const space = defaultSpace(m);
space.device = { threads: [1], optLevel: ['all'], load: [{ workers: 0, duty: 0 }] };
const plan = planConfigs(m, space, 'random', Number(process.env.N ?? 40), 55).configs;
const rt = getRuntime('ort-cpu');
const ref = { params: referenceParams(m), device: plan[0].device };
const ratios = [];
for (let c = 0; c < plan.length; c += 4) {
  const chunk = plan.slice(c, c + 4);
  // the same configs 3 times in one chunk: 3 sessions each, rounds interleaved
  const r = await measureChunk(rt, m, [...chunk, ...chunk, ...chunk, ref], DEFAULT_TIMING, c);
  const refQ = r.at(-1).timing.roundMediansMs;
  chunk.forEach((cfg, i) => { const l = [r[i], r[i + chunk.length], r[i + 2 * chunk.length]].map((x) => x.timing.latencyMs); ratios.push({ spread: Math.max(...l) / Math.min(...l), l, ref: Math.max(...refQ) / Math.min(...refQ), p: cfg.params }); });
}
ratios.sort((a, b) => a.spread - b.spread);
const q = (p) => ratios[Math.floor(p * (ratios.length - 1))].spread.toFixed(3);
console.log(`n ${ratios.length}: max/min over 3 sessions of the same config, same chunk: median ${q(0.5)} p75 ${q(0.75)} p90 ${q(0.9)} max ${q(1)}; share > 1.1: ${(100 * ratios.filter((r) => r.spread > 1.1).length / ratios.length).toFixed(0)}%`);
for (const r of ratios.slice(-6)) console.log(r.spread.toFixed(2), r.l.map((x) => x.toPrecision(3)).join(' '), 'ref spread', r.ref.toFixed(2), JSON.stringify(r.p));
