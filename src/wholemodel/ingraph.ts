import { fitNonNegativeRelative } from '../regressors/ridge.js';
import { createGbt, gbt, isGbtState, type GbtOptions } from '../regressors/gbt.js';
import type { Regressor } from '../regressors/types.js';
import type { Kernel } from './kernels.js';
import { profiledNodeKey } from './report.js';

/**
 * In-graph correction. A module predictor answers how long a module takes when it runs alone;
 * inside a network the same kernel runs with warm caches, already in the runtime's blocked layout
 * (no reorder of its input and output), behind a fused neighbour. Where the runtime's profiler
 * gives per-node times (onnxruntime-node), the calibration networks are profiled per node and,
 * per module (and per op for roofline ops), a model learns the kernel's in-graph time:
 *
 * - 'linear': a non-negative linear model, fitted on relative error,
 *     in-graph ms ≈ a·(standalone prediction) + b·(weight bytes) + c·(activation bytes) + d
 *   (weights come cold from memory inside a network, where a module timed alone keeps them in
 *   cache; d is the runtime's per-node dispatch);
 * - 'gbt': gradient-boosted trees (the RM zoo's `gbt`, faster shrinkage: a log-space ridge plus trees on its
 *   residual) over the standalone prediction and the kernel's own sizes (FLOPs, bytes, channels,
 *   spatial size, kernel size, stride, groups, fused ops) — the profiles hold thousands of
 *   convolutions measured where they really run, more than any module dataset, and the step
 *   changes between standalone and in-graph time (layout, cache fit) are not linear. Keys with
 *   fewer than GBT_MIN_EXAMPLES fall back to the linear model.
 *
 * - 'gbt-net': as 'gbt', learned on profiled times net of the profiler's own cost per node. With
 *   the profiler on, every node takes longer than it does in an unprofiled run — on the 2-core VM
 *   the calibration networks' profiled nodes sum to their end-to-end time plus ~2.4 µs per node
 *   on 1 thread and ~5.3 µs on 2 (estimateProfilerCost) — which is most of a small elementwise
 *   kernel's profiled time; the trees, fitted on relative error, then learn the profiler's cost
 *   more than the kernel's.
 *
 * - 'gbt-e2e': as 'gbt-net', with each calibration network's net node times then scaled to add up
 *   to its own measured end-to-end latency (attributeToMeasured) before the trees learn from them.
 *   What the profiler does to a network is not one cost per node: on 2 threads the profiled nodes
 *   of small networks add up to 1.5–3× their unprofiled latency and those of large ones to
 *   1.05×, and even the best two- or three-term per-node cost model leaves the sums of only 76–80 %
 *   of the calibration networks within ±10 % of their end-to-end time (scripts/profiler-distortion.mjs,
 *   reports/models-history.md). Scaled, the targets keep the profile's split between kernels and
 *   the end-to-end run's total. The held-out networks of the CV folds and the validation networks
 *   never lend their end-to-end times to the trees that predict them.
 *
 * Kernels of a key with too few profiled examples keep the standalone prediction. bench:models
 * chooses between none, 'linear', 'gbt', 'gbt-net' and 'gbt-e2e' on validation networks.
 */
export const IN_GRAPH_METHODS = ['linear', 'gbt', 'gbt-net', 'gbt-e2e'] as const;
export type InGraphMethod = (typeof IN_GRAPH_METHODS)[number];

export interface InGraphModel {
  /** 2: linear models only; 3: may hold trees (`rm`) */
  format: 2 | 3;
  method?: InGraphMethod;
  /** the trees also read the channels' alignment (inGraphFeatures): ALIGNMENT_FEATURES more inputs */
  alignment?: boolean;
  /** per key: [a, b, c, d] of the linear model, the examples it was fitted on, and the GBT state where one was fitted */
  models: Record<string, { w: number[]; n: number; rm?: unknown; ratio?: [number, number] }>;
  /** 'gbt-net', 'gbt-e2e': the profiler's cost per node taken off the profiled times it learned from, ms */
  profilerCostMs?: number;
}

export interface InGraphPair {
  key: string;
  kernel: InGraphKernel;
  standaloneMs: number;
  /** the profiled time of the kernel's nodes */
  inGraphMs: number;
  /** how many profiled nodes make the kernel (a Conv and its BatchNormalization; 1 when absent) */
  nodes?: number;
}

/** a profiled node keeps at least this share of its time when the profiler's cost is taken off */
const NET_FLOOR = 0.1;

/**
 * The profiler's own cost per profiled node, ms: the slope of (Σ profiled node times − end-to-end
 * latency) over the networks' node counts, by least squares (0 when the networks cannot tell).
 * An end-to-end run also pays a per-run cost (feeding, fetching) that no node carries: the intercept.
 */
export function estimateProfilerCost(networks: ReadonlyArray<{ nodes: number; profiledMs: number; measuredMs: number }>): number {
  const n = networks.length;
  if (n < 3) return 0;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const w of networks) {
    const y = w.profiledMs - w.measuredMs;
    sx += w.nodes;
    sy += y;
    sxx += w.nodes * w.nodes;
    sxy += w.nodes * y;
  }
  const den = n * sxx - sx * sx;
  return den > 0 ? Math.max(0, (n * sxy - sx * sy) / den) : 0;
}

/** what the correction reads of a kernel */
export type InGraphKernel = Pick<Kernel, 'bytes' | 'flops' | 'weightBytes' | 'inputShapes' | 'weightShapes' | 'outputShape' | 'attrs' | 'fused'>;

/**
 * The in-graph trees learn 3× faster than the RM zoo's (shrinkage 0.15, not 0.05): about a third
 * as many trees to walk per kernel, and on validation networks no less accurate (bench:models on
 * 1 thread, 2026-12-03, same data: chosen design 60.0 % within ±10 % vs 59.2 % at 0.05, 56.9 % at 0.3).
 */
const IN_GRAPH_GBT: Partial<GbtOptions> = { learningRate: 0.15 };

const MIN_EXAMPLES = 25;
export const GBT_MIN_EXAMPLES = 60;
const linearFeatures = (k: Pick<Kernel, 'bytes' | 'weightBytes'>, standaloneMs: number) => [standaloneMs, k.weightBytes / 1e6, (k.bytes - k.weightBytes) / 1e6, 1];

const lg = (x: number) => Math.log(Math.max(x, 1e-12));
const firstOf = (v: unknown, dflt: number) => (Array.isArray(v) ? Number(v[0] ?? dflt) : typeof v === 'number' ? v : dflt);

/**
 * the activation fused into a kernel, by its cost per element: none 0; Relu, Clip, LeakyRelu 1;
 * Sigmoid, HardSigmoid, Tanh 2; HardSwish 3 (MobileNetV3's convolutions end in one; the module a
 * convolution is predicted by is timed without)
 */
function activationClass(fused: readonly string[]): number {
  if (fused.includes('HardSwish')) return 3;
  if (fused.some((op) => op === 'Sigmoid' || op === 'HardSigmoid' || op === 'Tanh')) return 2;
  if (fused.some((op) => op === 'Relu' || op === 'Clip' || op === 'LeakyRelu')) return 1;
  return 0;
}

/** length of inGraphFeatures without the alignment features */
const IN_GRAPH_FEATURES = 17;
const ALIGNMENT_FEATURES = 2;
/** channel counts are read modulo this (the widest NCHWc block onnxruntime uses on x86, AVX-512's) */
const ALIGN = 16;

/**
 * the GBT's view of a kernel: log standalone time and log sizes, channels, spatial size, kernel
 * size, stride, groups, fused ops and activation; with `alignment`, the input and output channels
 * modulo ALIGN after them. onnxruntime runs a convolution in its blocked NCHWc layout only when
 * its channels fill whole blocks, and otherwise plain, with reorders around it: a step no smooth
 * function of log channels shows (ShuffleNetV2's 58- and 116-channel branches, reports/models-history.md).
 * For a kernel that is not an image op (a MatMul over [1, tokens, dim]) it is the second dim, as
 * the channel features above read it; the trees of that key use it or not.
 */
export function inGraphFeatures(k: InGraphKernel, standaloneMs: number, alignment = false): number[] {
  const x = k.inputShapes[0] ?? [];
  const w = k.weightShapes[0] ?? [];
  const o = k.outputShape;
  const own = [
    lg(standaloneMs),
    lg(k.flops + 1),
    lg(k.bytes),
    lg(k.weightBytes + 1),
    lg(k.bytes - k.weightBytes),
    lg(x[1] ?? 1),
    lg(o[1] ?? 1),
    // spatial size as a count, not a height: the training networks are square, real ones not (PP-OCR's 48×320 lines)
    lg(x.slice(2).reduce((a, b) => a * b, 1)),
    lg(o.slice(2).reduce((a, b) => a * b, 1)),
    w[2] ?? 1,
    firstOf(k.attrs.strides, 1),
    firstOf(k.attrs.group, 1),
    k.fused.length,
    k.fused.includes('Add') ? 1 : 0,
    activationClass(k.fused),
    x.length,
    lg(o.reduce((a, b) => a * b, 1)),
  ];
  if (alignment) own.push((x[1] ?? 1) % ALIGN, (o[1] ?? 1) % ALIGN);
  return own;
}

/** the key a kernel's correction is learned under: its module, or 'op:<Op>' for roofline kernels */
export const inGraphKey = (module: string | undefined, kernel: Pick<Kernel, 'op'>) => module ?? `op:${kernel.op}`;

/** Joins per-node profiled times to kernels (by the node and tensor names the profiler uses). */
export function inGraphPairs(
  kernels: ReadonlyArray<{ kernel: Kernel; module?: string; rawMs: number; group: string }>,
  nodes: ReadonlyArray<{ name: string; ms: number }>,
): InGraphPair[] {
  const byKey = new Map<string, (typeof kernels)[number]>();
  for (const k of kernels) {
    if (k.group === 'free') continue;
    for (const n of k.kernel.nodes) byKey.set(n, k);
    for (const t of k.kernel.outputs) byKey.set(t, k);
  }
  const measured = new Map<(typeof kernels)[number], { ms: number; nodes: number }>();
  for (const n of nodes) {
    const k = byKey.get(profiledNodeKey(n.name));
    if (!k) continue;
    const m = measured.get(k);
    if (m) {
      m.ms += n.ms;
      m.nodes++;
    } else measured.set(k, { ms: n.ms, nodes: 1 });
  }
  return [...measured]
    .filter(([, m]) => m.ms > 0)
    .map(([k, m]) => ({ key: inGraphKey(k.module, k.kernel), kernel: k.kernel, standaloneMs: k.rawMs, inGraphMs: m.ms, nodes: m.nodes }));
}

/**
 * 'gbt-e2e': one network's profiled nodes, each less the profiler's cost per node (floored at
 * NET_FLOOR of its time), then all scaled by one factor so that they add up to the network's
 * measured end-to-end latency. Pass the result to inGraphPairs and fit with 'gbt-e2e'.
 */
export function attributeToMeasured<T extends { ms: number }>(nodes: readonly T[], measuredMs: number, profilerCostMs: number): T[] {
  const net = nodes.map((n) => ({ ...n, ms: netMs(n.ms, 1, profilerCostMs) }));
  const sum = net.reduce((a, n) => a + n.ms, 0);
  if (!(sum > 0) || !(measuredMs > 0)) return net;
  const f = measuredMs / sum;
  return net.map((n) => ({ ...n, ms: n.ms * f }));
}

/** the time a pair's kernel takes without the profiler: its profiled time less the profiler's cost per node, floored */
export const netInGraphMs = (p: Pick<InGraphPair, 'inGraphMs' | 'nodes'>, profilerCostMs: number) => netMs(p.inGraphMs, p.nodes ?? 1, profilerCostMs);
/** a profiled time of `nodes` nodes less the profiler's cost for each, floored at NET_FLOOR of it */
function netMs(ms: number, nodes: number, profilerCostMs: number): number {
  return Math.max(ms - nodes * profilerCostMs, NET_FLOOR * ms);
}

/**
 * `profilerCostMs` (estimateProfilerCost) is taken off the profiled times for 'gbt-net'; for
 * 'gbt-e2e' the pairs already hold attributed times (attributeToMeasured) and it is only recorded
 */
export function fitInGraph(pairs: readonly InGraphPair[], method: InGraphMethod = 'linear', profilerCostMs = 0, o: { alignment?: boolean } = {}): InGraphModel {
  // the trees read the channels' alignment unless told not to (models fitted before it was added
  // have no `alignment` and are read without it); on the choice data of bench:models' store
  // (scripts/models-design-study.mjs IG_ALIGN=0 against the default, 2026-12-06) within ±10 %
  // 92.3 → 92.5 % on 1 thread and 82.7 → 83.3 % on 2, within ±5 % 66.0 → 70.7 % and 52.1 → 54.1 %
  const alignment = (o.alignment ?? true) && method !== 'linear';
  const cost = method === 'gbt-net' ? profilerCostMs : 0;
  const target = (p: InGraphPair) => (cost ? netInGraphMs(p, cost) : p.inGraphMs);
  const byKey = new Map<string, InGraphPair[]>();
  for (const p of pairs) {
    const ps = byKey.get(p.key);
    if (ps) ps.push(p);
    else byKey.set(p.key, [p]);
  }
  const models: InGraphModel['models'] = {};
  for (const [key, ps] of byKey) {
    if (ps.length < MIN_EXAMPLES) continue;
    const w = fitNonNegativeRelative(ps.map((p) => linearFeatures(p.kernel, p.standaloneMs)), ps.map(target));
    models[key] = { w, n: ps.length };
    if (method !== 'linear' && ps.length >= GBT_MIN_EXAMPLES) {
      const rm = createGbt(1, IN_GRAPH_GBT);
      void rm.fit(ps.map((p) => inGraphFeatures(p.kernel, p.standaloneMs, alignment)), ps.map(target));
      models[key]!.rm = rm.toJSON();
      // trees cannot extrapolate: outside the profiled kernels (PP-OCR's constant adds, say) their
      // answer is kept within the in-graph / standalone ratios the profiles showed (1st–99th percentile)
      const ratios = ps.map((p) => target(p) / p.standaloneMs).sort((a, b) => a - b);
      models[key]!.ratio = [ratios[Math.floor(0.01 * (ratios.length - 1))]!, ratios[Math.ceil(0.99 * (ratios.length - 1))]!];
    }
  }
  return method === 'linear' ? { format: 2, models } : { format: 3, method, ...(alignment ? { alignment } : {}), models, ...(method === 'gbt-net' || method === 'gbt-e2e' ? { profilerCostMs } : {}) };
}

/** loaded trees, per stored model and key (loading a GBT state once, not per kernel) */
const loaded = new WeakMap<InGraphModel, Map<string, Regressor>>();

function treesOf(m: InGraphModel, key: string): Regressor | undefined {
  const st = m.models[key];
  if (!st?.rm) return undefined;
  let byKey = loaded.get(m);
  if (!byKey) loaded.set(m, (byKey = new Map()));
  let r = byKey.get(key);
  if (!r) byKey.set(key, (r = gbt.load(st.rm)));
  return r;
}

/** the in-graph estimate of a kernel, or the standalone one when its key has no model (`features`: its inGraphFeatures, when already computed) */
export function inGraphMs(m: InGraphModel | undefined, key: string, kernel: InGraphKernel, standaloneMs: number, features?: number[]): number {
  const st = m?.models[key];
  if (!st) return standaloneMs;
  const trees = treesOf(m!, key);
  if (trees && st.ratio) return Math.min(Math.max(trees.predict([features ?? inGraphFeatures(kernel, standaloneMs, !!m!.alignment)])[0]!, standaloneMs * st.ratio[0]), standaloneMs * st.ratio[1]);
  const est = linearFeatures(kernel, standaloneMs).reduce((s, x, i) => s + x * st.w[i]!, 0);
  // a correction, not a new predictor: never more than 3× away from the module's answer
  return Math.min(Math.max(est, standaloneMs / 3), standaloneMs * 3);
}

export function isInGraphModel(x: unknown): x is InGraphModel {
  const m = x as InGraphModel;
  if (!(m?.format === 2 || m?.format === 3) || typeof m.models !== 'object' || m.models === null) return false;
  if (m.method !== undefined && !IN_GRAPH_METHODS.includes(m.method)) return false;
  if (m.profilerCostMs !== undefined && !(typeof m.profilerCostMs === 'number' && Number.isFinite(m.profilerCostMs) && m.profilerCostMs >= 0)) return false;
  if (m.alignment !== undefined && typeof m.alignment !== 'boolean') return false;
  const features = IN_GRAPH_FEATURES + (m.alignment ? ALIGNMENT_FEATURES : 0);
  return Object.values(m.models).every((s) => Array.isArray(s?.w) && s.w.length === 4 && s.w.every(Number.isFinite) && (s.rm === undefined || (m.format === 3 && isGbtState(s.rm, features) && isRatio(s.ratio))));
}

const isRatio = (r: unknown) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0) && r[0] <= r[1];
