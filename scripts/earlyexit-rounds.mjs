// When the early-exit engine's training rounds run over a validation stream (Fashion-MNIST *training*
// images from 40,000; needs the full set), and why (the engine's 'round' events); then the second
// half's mean latency saved. After npm run build:
//   SEED=12 N=10000 OPTS='{"epochs":6}' node scripts/earlyexit-rounds.mjs
import { imageAsInput } from '../dist/data/fmnist.js';
import { openCacheTarget, startEngine } from '../dist/earlyexit/setup.js';
import { requireFull, runStream } from '../dist/bench/earlyexit-common.js';
import { summarise } from '../dist/earlyexit/replay.js';
const train = requireFull('train');
const t = await openCacheTarget('fmnist');
const N = Number(process.env.N ?? 10000), offset = 40000;
const o = JSON.parse(process.env.OPTS ?? '{}');
const { engine, costs } = await startEngine(t, { seed: Number(process.env.SEED ?? 12), ...o });
const run = await runStream(t, costs, engine, N, (i) => imageAsInput(train, offset + (i % 20000)), (i) => train.labels[offset + (i % 20000)]);
for (const e of engine.events.filter((e) => e.kind === 'round')) console.log(e.request, e.trigger, e.records, e.pool, e.passes.toFixed(1));
const w = summarise(run.records, N / 2, N, t.model.analysis.totalFlops);
console.log('2nd half mean saved', (100 * w.latencyReductionMean).toFixed(1), 'agreement', (100 * w.agreement).toFixed(2), 'rounds', engine.stats().maintenance.retrains, 'trainer cpu s', engine.stats().maintenance.trainerCpuSeconds.toFixed(1));
await engine.dispose();
