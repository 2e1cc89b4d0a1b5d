/**
 * bench:earlyexit-imagenet — caching on ImageNet-shaped models (ResNet-18 and MobileNetV2 layer
 * shapes, 1,000 classes, 224×224, random weights from the model generator): do caches get enabled
 * within the default memory budget, what does `cache serve` cost in memory at start-up, and what do
 * the enabled caches save on a stream with repetition. Also part of bench:earlyexit. Writes
 * reports/earlyexit-imagenet.md when run alone (IMAGENET_REQUESTS sets the stream length, default
 * 2,500; BENCH_QUICK 1,500). Needs nothing outside the repository.
 *
 * The stream: 100 "items" (smooth random images), each request one of them plus pixel noise — the
 * temporal locality layer caching is for (the same products, faces, documents seen again and
 * again). The backbone keeps random weights; its classifier is a nearest-class-mean one over the
 * items (see prototypeClassifier), so the backbone answers each item's class as a model trained
 * on them would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from '../runtimes/ort-node.js';
import { markdownTable } from '../cli/table.js';
import type { CacheEngine } from '../earlyexit/engine.js';
import { argmax } from '../earlyexit/head.js';
import { replayStream, summarise } from '../earlyexit/replay.js';
import { openCacheTarget, startEngine } from '../earlyexit/setup.js';
import type { Graph } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import { mobilenetV2, resnet18 } from '../modelgen/reference.js';
import { describeMachine, machineLabel } from '../profile/environment.js';
import { Rng } from '../util/random.js';
import { log, ms, pct, runIfMain, startCacheServer, writeReport } from './earlyexit-common.js';

/** pixel noise per request (the items are smooth images with unit-variance control points) */
const NOISE = 0.01;
/** the larger noise the report probes the backbone with, to show why the stream stays at NOISE */
const PROBE_NOISE = 0.1;


/** smooth random images (bilinear upsampling of an 8×8 grid per channel), standardised */
function items(n: number, side: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const img = new Float32Array(3 * side * side);
    for (let c = 0; c < 3; c++) {
      const g = Float32Array.from({ length: 81 }, () => rng.normal());
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const fy = (y / side) * 8;
          const fx = (x / side) * 8;
          const y0 = Math.floor(fy);
          const x0 = Math.floor(fx);
          const dy = fy - y0;
          const dx = fx - x0;
          const at = (yy: number, xx: number) => g[yy * 9 + xx]!;
          img[c * side * side + y * side + x] = at(y0, x0) * (1 - dy) * (1 - dx) + at(y0, x0 + 1) * (1 - dy) * dx + at(y0 + 1, x0) * dy * (1 - dx) + at(y0 + 1, x0 + 1) * dy * dx;
        }
      }
    }
    return img;
  });
}

/**
 * A randomly initialised deep network is no classifier: it answers nearly one class for every input
 * (measured: ResNet-18 1 class for 60 smooth random images, MobileNetV2 4), and with its bias
 * centred MobileNetV2's answer flips under σ 0.01 pixel noise (485 distinct answers over 100
 * items), which no trained model does. The stand-in for a model trained on the items: its
 * classifier replaced by a nearest-class-mean one over the backbone's own pooled features
 * (logit_c = s·(x·m_c − ½|m_c|²), m_c the features of item c, one class per item spread over the
 * 1,000; the other classes' bias far below), s set so the median clean margin is `MARGIN` logits.
 * Everything before the classifier keeps its random weights, so the caches still have to learn
 * from intermediate features that were never trained for the items.
 */
const MARGIN = 4;
const itemClass = (item: number) => (item * 10 + 3) % 1000;

async function prototypeClassifier(graph: Graph, items: Float32Array[]): Promise<void> {
  const gemm = graph.nodes.at(-1);
  if (gemm?.op !== 'Gemm') throw new Error(`${graph.name}: expected a Gemm classifier as the last node`);
  const [featName, wName, bName] = gemm.inputs as [string, string, string];
  const w = graph.initializers.find((i) => i.name === wName);
  const b = graph.initializers.find((i) => i.name === bName);
  if (!(w?.data instanceof Float32Array) || !(b?.data instanceof Float32Array)) throw new Error(`${graph.name}: no float classifier weights`);
  const [d, classes] = w.shape as [number, number];
  // the pooled features: the same graph up to the classifier's input
  const trunk: Graph = { ...graph, nodes: graph.nodes.slice(0, -1), initializers: graph.initializers.filter((i) => i !== w && i !== b), outputs: [{ name: featName, shape: graph.shapes.get(featName)! }] };
  const session = await ort.InferenceSession.create(toOnnx(trunk), { intraOpNumThreads: 1 });
  const protos: Float64Array[] = [];
  for (const x of items) {
    const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 224, 224]) }))[session.outputNames[0]!]!.data as Float32Array;
    protos.push(Float64Array.from(out));
  }
  await session.release();
  const dot = (u: ArrayLike<number>, v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += u[i]! * v[i]!;
    return s;
  };
  const half = protos.map((m) => dot(m, m) / 2);
  // unscaled clean margins: own logit minus the best other item's
  const margins = protos.map((x, i) => {
    const own = dot(x, protos[i]!) - half[i]!;
    return own - Math.max(...protos.map((m, j) => (j === i ? -Infinity : dot(x, m) - half[j]!)));
  });
  const scale = MARGIN / margins.sort((p, q) => p - q)[Math.floor(margins.length / 2)]!;
  w.data.fill(0);
  b.data.fill(-1e4);
  protos.forEach((m, i) => {
    const c = itemClass(i);
    for (let k = 0; k < d; k++) w.data[k * classes + c] = scale * m[k]!;
    b.data[c] = -scale * half[i]!;
  });
}

/** the model's item accuracy on 100 requests of random items plus white noise of `sigma` */
async function itemAccuracy(graph: Graph, items: Float32Array[], sigma: number): Promise<number> {
  const session = await ort.InferenceSession.create(toOnnx(graph), { intraOpNumThreads: 1 });
  const rng = new Rng(17);
  let right = 0;
  for (let i = 0; i < 100; i++) {
    const item = rng.int(0, items.length - 1);
    const x = Float32Array.from(items[item]!, (v) => v + sigma * rng.normal());
    const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 224, 224]) }))[session.outputNames[0]!]!.data as Float32Array;
    if (argmax(out) === itemClass(item)) right++;
  }
  await session.release();
  return right / 100;
}

/** RSS of `cache serve` for a model right after it starts listening */
async function serveRss(model: string, args: string[]): Promise<number> {
  const srv = await startCacheServer(['--model', model, ...args]);
  try {
    const s = (await (await fetch(`${srv.url}/v1/stats`)).json()) as { process: { rssBytes: number } };
    return s.process.rssBytes;
  } finally {
    srv.stop();
  }
}

export interface ImagenetRun {
  model: string;
  gflops: number;
  requests: number;
  rssPlainMiB: number;
  rssCacheMiB: number;
  trainerMiB: number;
  heads: Array<{ index: number; shape: number[]; hidden: number; kib: number }>;
  everEnabled: number[];
  steady: ReturnType<typeof summarise>;
  distinctAnswers: number;
  /** the backbone's item accuracy under the larger noise `PROBE_NOISE` (100 requests): how little a random backbone tolerates */
  probeAccuracy: number;
  events: string[];
}

export async function runImagenetShaped(o: { requests: number }): Promise<ImagenetRun[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'latencylab-imagenet-'));
  const out: ImagenetRun[] = [];
  for (const [name, graph] of [['ResNet-18 (1.8 GMACs)', resnet18()], ['MobileNetV2 1.0 (0.3 GMACs)', mobilenetV2()]] as const) {
    const file = path.join(dir, `${graph.name}.onnx`);
    const pool = items(100, 224, 7);
    await prototypeClassifier(graph, pool);
    const probeAccuracy = await itemAccuracy(graph, pool, PROBE_NOISE);
    writeFileSync(file, toOnnx(graph));
    log(`imagenet-shaped: ${name}: start-up memory of cache serve`);
    const rssPlain = await serveRss(file, ['--no-cache']);
    const rssCache = await serveRss(file, []);
    log(`imagenet-shaped: ${name}: replaying ${o.requests} requests`);
    const t = await openCacheTarget(file);
    const { engine, costs } = await startEngine(t);
    const { engine: baseline } = await startEngine(t, { cache: false }, costs);
    const rng = new Rng(11);
    const stream = Array.from({ length: o.requests }, () => rng.int(0, pool.length - 1));
    const noise = new Rng(13);
    const { records } = await replayStream(engine, baseline, o.requests, (i) => Float32Array.from(pool[stream[i]!]!, (v) => v + NOISE * noise.normal()), (i) => itemClass(stream[i]!), {
      onRequest: (i) => {
        if ((i + 1) % 500 === 0) log(`    ${i + 1}/${o.requests}`);
      },
    });
    const s = engine.stats();
    out.push({
      model: name,
      gflops: t.model.analysis.totalFlops / 1e9,
      requests: o.requests,
      rssPlainMiB: rssPlain / 2 ** 20,
      rssCacheMiB: rssCache / 2 ** 20,
      trainerMiB: s.maintenance.trainerRssBytes / 2 ** 20,
      heads: s.caches.map((c) => ({ index: c.index, shape: c.shape, hidden: c.hidden, kib: c.headBytes / 1024 })),
      everEnabled: enabledEver(engine),
      steady: summarise(records, Math.floor(o.requests / 2), o.requests, t.model.analysis.totalFlops),
      distinctAnswers: new Set(records.map((r) => r.backboneLabel)).size,
      probeAccuracy,
      events: s.events,
    });
    await engine.dispose();
    await baseline.dispose();
    await t.model.dispose();
  }
  // the generated models (45 MB for ResNet-18) are not needed after the run
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function enabledEver(e: CacheEngine): number[] {
  const set = new Set<number>();
  for (const ev of e.events) if (ev.kind === 'cascade') ev.to.forEach((c) => set.add(c));
  return [...set].sort((a, b) => a - b);
}

/** a MiB difference with its sign: start-up RSS varies by tens of MiB from run to run, so caching can show as less */
const signed = (mib: number) => `${mib >= 0 ? '+' : '−'}${Math.abs(mib).toFixed(0)}`;

export function imagenetSection(runs: ImagenetRun[], heading: string): string {
  const rows = runs.map((r) => [
    r.model,
    r.heads.map((h) => `#${h.index} ${h.shape.slice(1).join('×')}: ${h.hidden} hidden, ${h.kib.toFixed(0)} KiB`).join('<br>'),
    r.everEnabled.length ? r.everEnabled.map((i) => `#${i}`).join(', ') : '**none**',
    `${r.rssPlainMiB.toFixed(0)} / ${r.rssCacheMiB.toFixed(0)} (**${signed(r.rssCacheMiB - r.rssPlainMiB)}**)`,
    `${r.trainerMiB.toFixed(0)}`,
    pct(r.steady.flopsReduction),
    `${ms(r.steady.meanMs)} / ${ms(r.steady.baselineMeanMs)}`,
    pct(r.steady.latencyReductionMean),
    pct(r.steady.agreement),
    `${pct(r.steady.backboneAccuracy ?? 0)} / ${pct(r.steady.accuracy ?? 0)}`,
    pct(r.steady.earlyExitRate),
    r.distinctAnswers,
  ]);
  return `${heading}
Reference layer shapes from \`src/modelgen/reference.ts\` (random weights, 1,000 classes, 1×3×224×224), with the classifier replaced by a nearest-class-mean one over the backbone's pooled features of the 100 items, one class per item (a random network otherwise answers one class for almost everything, or flips its answer under the pixel noise; see prototypeClassifier), cut and cached with the defaults (memory budget 512 KiB for the enabled heads, heads narrowed to fit half of it). A stream of ${runs[0]?.requests ?? 0} requests over 100 smooth random images plus pixel noise (σ ${NOISE}), cached vs backbone timed back to back; second half. Agreement with the backbone is the measure; item accuracy (the answer is the item's class) shows the stand-in classifier at work. Read the savings as mechanics, not as what a trained model would see: with random convolution weights the backbone's own answer survives only tiny perturbations (its item accuracy under σ ${PROBE_NOISE} white noise, 100 requests: ${runs.map((r) => `${r.model.split(' (')[0]} ${pct(r.probeAccuracy)}`).join(', ')}), so the stream varies little and the first cache answers nearly everything. Memory: RSS of \`latencylab cache serve --model <file>\` right after it starts listening, \`--no-cache\` / caching; the trainer process starts with the first training round (its RSS at the end of the replay shown apart).

${markdownTable(['model', 'cache heads (cut shape: width, size)', 'caches ever enabled', 'start-up RSS MiB plain / caching (extra)', 'trainer MiB', 'FLOPs saved', 'mean ms cached / backbone', 'mean saved', 'agreement', 'item accuracy backbone / cached', 'early exits', 'distinct answers'], rows)}
${runs.map((r) => `\n${r.model} manager decisions: ${r.events.map((e) => `\`${e}\``).join('; ') || 'none'}.`).join('')}
`;
}

async function main() {
  const requests = Number(process.env.IMAGENET_REQUESTS) || (process.env.BENCH_QUICK === '1' ? 1500 : 2500);
  const runs = await runImagenetShaped({ requests });
  const m = describeMachine();
  writeReport('earlyexit-imagenet', `# Early exits on ImageNet-shaped models\n\nGenerated by \`npm run bench:earlyexit-imagenet\` on ${machineLabel()}, Node ${m.node}, onnxruntime-node CPU EP, 1 thread, batch 1. One run.\n\n${imagenetSection(runs, '## Caches on ResNet-18 and MobileNetV2 shapes')}`, runs);
}

runIfMain(import.meta.url, main);
