import { fitRidgeCV, linearPredict, type LinearState } from '../regressors/ridge.js';
import type { Kernel } from './kernels.js';
import { profiledNodeKey } from './report.js';

/**
 * In-graph correction. A module predictor answers how long a module takes when it runs alone;
 * inside a network the same kernel runs with warm caches, already in the runtime's blocked layout
 * (no reorder of its input and output), behind a fused neighbour. Where the runtime's profiler
 * gives per-node times (onnxruntime-node), the calibration networks are profiled per node and,
 * per module (and per op for roofline ops), a log-linear model learns
 *
 *   log(in-graph ms) ≈ a + b·log(standalone prediction) + c·log(bytes) + d·log(FLOPs)
 *
 * Kernels of a key with too few profiled examples keep the standalone prediction.
 */
export interface InGraphModel {
  format: 1;
  models: Record<string, LinearState & { n: number }>;
}

export interface InGraphPair {
  key: string;
  kernel: Pick<Kernel, 'bytes' | 'flops'>;
  standaloneMs: number;
  inGraphMs: number;
}

const MIN_EXAMPLES = 25;
const features = (k: Pick<Kernel, 'bytes' | 'flops'>, standaloneMs: number) => [Math.log(Math.max(standaloneMs, 1e-5)), Math.log1p(k.bytes / 1e3), Math.log1p(k.flops / 1e3)];

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
    const st = fitRidgeCV(ps.map((p) => features(p.kernel, p.standaloneMs)), ps.map((p) => Math.log(p.inGraphMs)), { seed: 1 });
    models[key] = { ...st, n: ps.length };
  }
  return { format: 1, models };
}

/** the in-graph estimate of a kernel, or the standalone one when its key has no model */
export function inGraphMs(m: InGraphModel | undefined, key: string, kernel: Pick<Kernel, 'bytes' | 'flops'>, standaloneMs: number): number {
  const st = m?.models[key];
  if (!st) return standaloneMs;
  const est = Math.exp(linearPredict(st, features(kernel, standaloneMs)));
  // a correction, not a new predictor: never more than 10× away from the module's answer
  return Math.min(Math.max(est, standaloneMs / 10), standaloneMs * 10);
}

export function isInGraphModel(x: unknown): x is InGraphModel {
  const m = x as InGraphModel;
  return m?.format === 1 && typeof m.models === 'object' && Object.values(m.models).every((s) => Array.isArray(s.weights) && Number.isFinite(s.intercept));
}
