/**
 * bench:earlyexit-imagenet — caching on ImageNet-shaped models (ResNet-18 and MobileNetV2 layer
 * shapes, 1,000 classes, 224×224, random weights from the model generator): do caches get enabled
 * within the default memory budget, what does `cache serve` cost in memory at start-up, and what do
 * the enabled caches save on a stream with repetition. Also part of bench:earlyexit. Writes
 * reports/earlyexit-imagenet.md when run alone. Needs nothing outside the repository.
 *
 * The stream: 100 "items" (smooth random images), each request one of them plus pixel noise — the
 * temporal locality layer caching is for (the same products, faces, documents seen again and
 * again). Random weights give no meaningful classes, so only agreement with the backbone is
 * reported, never accuracy. The classifier bias is centred (see centreClassifier) so that the
 * backbone's answers vary with the input as a trained model's do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from '../runtimes/ort-node.js';
import { markdownTable } from '../cli/table.js';
import type { CacheEngine } from '../earlyexit/engine.js';
import { replayStream, summarise } from '../earlyexit/replay.js';
import { openCacheTarget, startEngine } from '../earlyexit/setup.js';
import type { Graph } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import { mobilenetV2, resnet18 } from '../modelgen/reference.js';
import { describeMachine } from '../profile/environment.js';
import { Rng } from '../util/random.js';
import { log, ms, pct, runIfMain, startCacheServer, writeReport } from './earlyexit-common.js';

/** pixel noise per request (the items are smooth images with unit-variance control points) */
const NOISE = 0.01;


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
 * A randomly initialised deep network answers nearly one class for every input (measured: ResNet-18
 * 1 class for 60 smooth random images, MobileNetV2 4). Subtracting each class's mean logit over
 * a few images from the classifier's bias leaves the input-dependent part to decide (then 31 and
 * 58 classes for 60 images): a stand-in for a trained model's varied answers.
 */
async function centreClassifier(graph: Graph, images: Float32Array[]): Promise<void> {
  const gemm = graph.nodes.find((n) => n.op === 'Gemm');
  const bias = graph.initializers.find((i) => i.name === gemm?.inputs[2]);
  if (!bias || !(bias.data instanceof Float32Array)) throw new Error(`${graph.name}: no classifier bias to centre`);
  const session = await ort.InferenceSession.create(toOnnx(graph), { intraOpNumThreads: 1 });
  const mean = new Float64Array(bias.data.length);
  for (const x of images) {
    const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 224, 224]) }))[session.outputNames[0]!]!.data as Float32Array;
    for (let i = 0; i < mean.length; i++) mean[i]! += out[i]! / images.length;
  }
  await session.release();
  for (let i = 0; i < mean.length; i++) bias.data[i]! -= mean[i]!;
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
  events: string[];
}

export async function runImagenetShaped(o: { requests: number }): Promise<ImagenetRun[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'latencylab-imagenet-'));
  const out: ImagenetRun[] = [];
  for (const [name, graph] of [['ResNet-18 (1.8 GMACs)', resnet18()], ['MobileNetV2 1.0 (0.3 GMACs)', mobilenetV2()]] as const) {
    const file = path.join(dir, `${graph.name}.onnx`);
    await centreClassifier(graph, items(32, 224, 5));
    writeFileSync(file, toOnnx(graph));
    log(`imagenet-shaped: ${name}: start-up memory of cache serve`);
    const rssPlain = await serveRss(file, ['--no-cache']);
    const rssCache = await serveRss(file, []);
    log(`imagenet-shaped: ${name}: replaying ${o.requests} requests`);
    const t = await openCacheTarget(file);
    const { engine, costs } = await startEngine(t);
    const { engine: baseline } = await startEngine(t, { cache: false }, costs);
    const pool = items(100, 224, 7);
    const rng = new Rng(11);
    const stream = Array.from({ length: o.requests }, () => rng.int(0, pool.length - 1));
    const noise = new Rng(13);
    const { records } = await replayStream(engine, baseline, o.requests, (i) => Float32Array.from(pool[stream[i]!]!, (v) => v + NOISE * noise.normal()), null, {
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

export function imagenetSection(runs: ImagenetRun[], heading: string): string {
  const rows = runs.map((r) => [
    r.model,
    r.heads.map((h) => `#${h.index} ${h.shape.slice(1).join('×')}: ${h.hidden} hidden, ${h.kib.toFixed(0)} KiB`).join('<br>'),
    r.everEnabled.length ? r.everEnabled.map((i) => `#${i}`).join(', ') : '**none**',
    `${r.rssPlainMiB.toFixed(0)} / ${r.rssCacheMiB.toFixed(0)} (**+${(r.rssCacheMiB - r.rssPlainMiB).toFixed(0)}**)`,
    `${r.trainerMiB.toFixed(0)}`,
    pct(r.steady.flopsReduction),
    `${ms(r.steady.meanMs)} / ${ms(r.steady.baselineMeanMs)}`,
    pct(r.steady.latencyReductionMean),
    pct(r.steady.agreement),
    pct(r.steady.earlyExitRate),
    r.distinctAnswers,
  ]);
  return `${heading}
Reference layer shapes from \`src/modelgen/reference.ts\` (random weights, 1,000 classes, 1×3×224×224; the classifier's bias centred on 32 other random images, since a random network otherwise answers one class for almost everything), cut and cached with the defaults (memory budget 512 KiB for the enabled heads, heads narrowed to fit half of it). A stream of ${runs[0]?.requests ?? 0} requests over 100 smooth random images plus pixel noise (σ ${NOISE}), cached vs backbone timed back to back; second half. Random weights mean no real classes: agreement with the backbone is the measure (the stream's answers span the number of distinct backbone classes shown). Memory: RSS of \`latencylab cache serve --model <file>\` right after it starts listening, \`--no-cache\` / caching; the trainer process starts with the first training round (its RSS at the end of the replay shown apart).

${markdownTable(['model', 'cache heads (cut shape: width, size)', 'caches ever enabled', 'start-up RSS MiB plain / caching (extra)', 'trainer MiB', 'FLOPs saved', 'mean ms cached / backbone', 'mean saved', 'agreement', 'early exits', 'distinct answers'], rows)}
${runs.map((r) => `\n${r.model} manager decisions: ${r.events.map((e) => `\`${e}\``).join('; ') || 'none'}.`).join('')}
`;
}

async function main() {
  const requests = process.env.BENCH_QUICK === '1' ? 1500 : 2500;
  const runs = await runImagenetShaped({ requests });
  const m = describeMachine();
  writeReport('earlyexit-imagenet', `# Early exits on ImageNet-shaped models\n\nGenerated by \`npm run bench:earlyexit-imagenet\` on ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, onnxruntime-node CPU EP, 1 thread, batch 1. One run.\n\n${imagenetSection(runs, '## Caches on ResNet-18 and MobileNetV2 shapes')}`, runs);
}

runIfMain(import.meta.url, main);
