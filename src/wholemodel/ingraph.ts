import { fitNonNegativeRelative } from '../regressors/ridge.js';
import type { Kernel } from './kernels.js';
import { profiledNodeKey } from './report.js';

/**
 * In-graph correction. A module predictor answers how long a module takes when it runs alone;
 * inside a network the same kernel runs with warm caches, already in the runtime's blocked layout
 * (no reorder of its input and output), behind a fused neighbour. Where the runtime's profiler
 * gives per-node times (onnxruntime-node), the calibration networks are profiled per node and,
 * per module (and per op for roofline ops), a non-negative linear model learns
 *
 *   in-graph ms ≈ a·(standalone prediction) + b·(weight bytes) + c·(activation bytes) + d
 *
 * (weights come cold from memory inside a network, where a module timed alone keeps them in
 * cache; d is the runtime's per-node dispatch). Fitted on relative error. Kernels of a key with
 * too few profiled examples keep the standalone prediction.
 */
export interface InGraphModel {
  format: 2;
  /** per key: [a, b, c, d] of the model above, and the examples it was fitted on */
  models: Record<string, { w: number[]; n: number }>;
}

export interface InGraphPair {
  key: string;
  kernel: Pick<Kernel, 'bytes' | 'flops' | 'weightBytes'>;
  standaloneMs: number;
  inGraphMs: number;
}

const MIN_EXAMPLES = 25;
const features = (k: Pick<Kernel, 'bytes' | 'weightBytes'>, standaloneMs: number) => [standaloneMs, k.weightBytes / 1e6, (k.bytes - k.weightBytes) / 1e6, 1];

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
  const measured = new Map<(typeof kernels)[number], number>();
  for (const n of nodes) {
    const k = byKey.get(profiledNodeKey(n.name));
    if (k) measured.set(k, (measured.get(k) ?? 0) + n.ms);
  }
  return [...measured]
    .filter(([, ms]) => ms > 0)
    .map(([k, ms]) => ({ key: inGraphKey(k.module, k.kernel), kernel: k.kernel, standaloneMs: k.rawMs, inGraphMs: ms }));
}

export function fitInGraph(pairs: readonly InGraphPair[]): InGraphModel {
  const byKey = new Map<string, InGraphPair[]>();
  for (const p of pairs) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  const models: InGraphModel['models'] = {};
  for (const [key, ps] of byKey) {
    if (ps.length < MIN_EXAMPLES) continue;
    const w = fitNonNegativeRelative(ps.map((p) => features(p.kernel, p.standaloneMs)), ps.map((p) => p.inGraphMs));
    models[key] = { w, n: ps.length };
  }
  return { format: 2, models };
}

/** the in-graph estimate of a kernel, or the standalone one when its key has no model */
export function inGraphMs(m: InGraphModel | undefined, key: string, kernel: Pick<Kernel, 'bytes' | 'weightBytes'>, standaloneMs: number): number {
  const st = m?.models[key];
  if (!st) return standaloneMs;
  const est = features(kernel, standaloneMs).reduce((s, x, i) => s + x * st.w[i]!, 0);
  // a correction, not a new predictor: never more than 3× away from the module's answer
  return Math.min(Math.max(est, standaloneMs / 3), standaloneMs * 3);
}

export function isInGraphModel(x: unknown): x is InGraphModel {
  const m = x as InGraphModel;
  return m?.format === 2 && typeof m.models === 'object' && Object.values(m.models).every((s) => Array.isArray(s.w) && s.w.length === 4 && s.w.every(Number.isFinite));
}
