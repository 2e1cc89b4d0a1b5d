import { fitNonNegativeRelative } from '../regressors/ridge.js';
import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';

/**
 * From the sum of kernel predictions to an end-to-end latency. Module predictors are trained on
 * modules timed alone; inside a model a kernel runs with warm caches, fused neighbours and layout
 * changes the runtime inserts (NCHWc reorders), and each kernel pays a dispatch cost. The
 * calibration learns, per device setting, on measured generated models never used for testing:
 *
 *   total = overhead + perKernel · (compute kernels) + perView · (reshape-like kernels)
 *           + Σ_group factor_group · Σ raw predictions
 *
 * minimising the relative error, with every coefficient ≥ 0 but the per-kernel and per-view terms
 * (see fitCalibration); a layer's calibrated time is shown no lower than zero (applyCalibration).
 */
export const GROUPS = ['conv', 'dwconv', 'dense', 'other', 'roofline'] as const;
export type KernelGroup = (typeof GROUPS)[number] | 'free';

/**
 * 'groups': one factor per kernel group (conv, dwconv, dense, other modules, roofline);
 * 'modules': one factor per module predictor (conv2d, add, softmax, …) and the roofline;
 * 'kinds': as 'groups', with convolutions split into 1×1 and k×k (their standalone timings carry
 * different layout-conversion shares); 'groups+memory': group factors plus a cost per MB of
 * weights and of activations (inside a network weights come cold from memory, while a module
 * timed alone, run after run, keeps them in cache); 'groups+layout': group factors plus a cost per
 * reorder node and per MB the runtime reorders between its blocked NCHWc layout and plain NCHW
 * (Kernel.reorders, reorderBytes); 'modules+layout': one factor per module plus those reorder prices
 * (on 2 threads the best of these in session 30's design study: 74.7 % within ±10 % on
 * calibration CV + validation vs 71.9 % for 'modules'); 'modules+layout+small': as that, plus a
 * cost of its own for each kernel predicted under SMALL_KERNEL_MS (onnxruntime runs small kernels
 * on one thread, so with several threads only larger ones pay the pool's hand-off; design study on
 * 2 threads: 76.3 vs 74.3 %).
 * bench:models chooses between them (and no calibration) on validation networks.
 */
export const VARIANTS = ['groups', 'modules', 'kinds', 'groups+memory', 'groups+layout', 'modules+layout', 'modules+layout+small'] as const;

/** a kernel predicted under this is 'small' for the 'modules+layout+small' variant, ms */
export const SMALL_KERNEL_MS = 0.01;
export type CalibrationVariant = (typeof VARIANTS)[number];

export interface Calibration {
  format: 2;
  variant: CalibrationVariant;
  overheadMs: number;
  perKernelMs: number;
  /** cost of a view op (Reshape, Flatten, Squeeze…): no work, but a node the runtime dispatches */
  perViewMs: number;
  /** 'groups+memory': ms per MB of weights / of activations a kernel reads and writes */
  perWeightMB?: number;
  perActivationMB?: number;
  /** 'groups+layout', 'modules+layout': ms per MB reordered between NCHWc and NCHW, and per reorder node */
  perReorderMB?: number;
  perReorder?: number;
  /** 'modules+layout+small': the cost of a small kernel (SMALL_KERNEL_MS) beyond the per-kernel one, ms (may be negative) */
  perSmallKernelMs?: number;
  /** factor per group or module (a key never seen in fitting gets 1) */
  factors: Record<string, number>;
  /** models it was fitted on */
  models: number;
  fittedAt: string;
  /**
   * the machine probe's median over the calibration measurements: predictions are latencies of
   * the machine in that state (`predict --now` rescales them by the probe timed now)
   */
  probeMs?: number;
}

/** a measurement expressed at the nominal machine state: latency × nominal probe / probe at the time */
export const atNominal = (latencyMs: number, probeMs: number | undefined, nominalProbeMs: number | undefined) =>
  probeMs && nominalProbeMs ? (latencyMs * nominalProbeMs) / probeMs : latencyMs;

interface Predicted {
  group: KernelGroup;
  module?: string;
  kernel?: { weightShapes: number[][]; bytes: number; weightBytes: number; reorderBytes?: number; reorders?: number };
  rawMs: number;
  ms: number;
}

function keyOf(k: Predicted, v: CalibrationVariant): string {
  if (k.group === 'roofline' || v === 'groups' || v === 'groups+memory' || v === 'groups+layout') return k.group;
  if (v === 'kinds') return k.module === 'conv2d' ? (k.kernel?.weightShapes[0]?.[2] === 1 ? 'conv1x1' : 'convkxk') : k.group;
  return k.module ?? k.group;
}

function factorKeys(models: ReadonlyArray<{ kernels: readonly Predicted[] }>, v: CalibrationVariant): string[] {
  const keys = new Set<string>();
  for (const m of models) for (const k of m.kernels) if (k.group !== 'free') keys.add(keyOf(k, v));
  return [...keys].sort();
}

/** features of one model's kernel predictions: [1, compute kernels, view kernels, (MB weights, MB activations,) Σ raw ms per key] */
function features(kernels: readonly Predicted[], keys: readonly string[], v: CalibrationVariant): number[] {
  const sums = new Map<string, number>();
  let compute = 0;
  let views = 0;
  let weightMB = 0;
  let activationMB = 0;
  let reorderMB = 0;
  let reorders = 0;
  for (const k of kernels) {
    reorderMB += (k.kernel?.reorderBytes ?? 0) / 1e6;
    reorders += k.kernel?.reorders ?? 0;
    if (k.group === 'free') {
      views++;
      continue;
    }
    compute++;
    weightMB += (k.kernel?.weightBytes ?? 0) / 1e6;
    activationMB += ((k.kernel?.bytes ?? 0) - (k.kernel?.weightBytes ?? 0)) / 1e6;
    sums.set(keyOf(k, v), (sums.get(keyOf(k, v)) ?? 0) + k.rawMs);
  }
  const memory = v === 'groups+memory' ? [weightMB, activationMB] : hasLayout(v) ? [reorderMB, reorders] : [];
  if (v === 'modules+layout+small') memory.push(kernels.filter((k) => k.group !== 'free' && k.rawMs < SMALL_KERNEL_MS).length);
  return [1, compute, views, ...memory, ...keys.map((key) => sums.get(key) ?? 0)];
}

/** `measuredMs` must already be at the nominal machine state (atNominal) when `probeMs` is given */
export function fitCalibration(models: ReadonlyArray<{ kernels: readonly Predicted[]; measuredMs: number }>, variant: CalibrationVariant = 'groups', probeMs?: number): Calibration {
  const keys = factorKeys(models, variant);
  if (models.length < keys.length + 2) throw new UserError(`calibration needs at least ${keys.length + 2} measured models, got ${models.length}`, 'calibration');
  // the per-kernel and per-view terms may be negative: per-kernel estimates from per-node
  // profiles carry the profiler's own per-node cost, which end-to-end runs do not pay
  const w = fitNonNegativeRelative(models.map((m) => features(m.kernels, keys, variant)), models.map((m) => m.measuredMs), 1e-6, new Set(variant === 'modules+layout+small' ? [1, 2, 5] : [1, 2]));
  return {
    format: 2,
    variant,
    overheadMs: w[0]!,
    perKernelMs: w[1]!,
    perViewMs: w[2]!,
    ...(variant === 'groups+memory' ? { perWeightMB: w[3]!, perActivationMB: w[4]! } : {}),
    ...(hasLayout(variant) ? { perReorderMB: w[3]!, perReorder: w[4]! } : {}),
    ...(variant === 'modules+layout+small' ? { perSmallKernelMs: w[5]! } : {}),
    factors: Object.fromEntries(keys.map((key, i) => [key, w[i + 3 + memoryTerms(variant)]!])),
    models: models.length,
    fittedAt: new Date().toISOString(),
    ...(probeMs ? { probeMs } : {}),
  };
}

const hasLayout = (v: CalibrationVariant) => v === 'groups+layout' || v === 'modules+layout' || v === 'modules+layout+small';
const memoryTerms = (v: CalibrationVariant) => (v === 'modules+layout+small' ? 3 : v === 'groups+memory' || hasLayout(v) ? 2 : 0);

/**
 * Sets each kernel's calibrated ms and returns the model total (raw sum without a calibration):
 * totalMs = overheadMs + clampedMs + Σ kernel ms, where clampedMs (≤ 0) is what was cut off layers
 * whose linear estimate fell below zero.
 */
export function applyCalibration(c: Calibration | undefined, kernels: Predicted[]): { totalMs: number; overheadMs: number; clampedMs: number } {
  if (!c) {
    for (const k of kernels) k.ms = k.rawMs;
    return { totalMs: kernels.reduce((s, k) => s + k.rawMs, 0), overheadMs: 0, clampedMs: 0 };
  }
  const memoryMs = (k: Predicted) => ((c.perWeightMB ?? 0) * (k.kernel?.weightBytes ?? 0) + (c.perActivationMB ?? 0) * ((k.kernel?.bytes ?? 0) - (k.kernel?.weightBytes ?? 0))) / 1e6;
  // a view op (Reshape after a blocked pooling, say) can need a reorder too
  const reorderMs = (k: Predicted) => ((c.perReorderMB ?? 0) * (k.kernel?.reorderBytes ?? 0)) / 1e6 + (c.perReorder ?? 0) * (k.kernel?.reorders ?? 0);
  // The per-kernel and per-view terms may be negative (fitCalibration): a tiny layer's linear
  // estimate can fall below zero. No layer is shown taking negative time; what is cut off stays in
  // the total (clampedMs), so the total is the fitted one (clamping the total itself lost accuracy
  // on validation networks: bench:models, 2026-12-03), and the per-model overhead shown is the
  // fitted one (≥ 0), not made negative by it.
  let cut = 0;
  for (const k of kernels) {
    const small = k.rawMs < SMALL_KERNEL_MS ? (c.perSmallKernelMs ?? 0) : 0;
    const ms = (k.group === 'free' ? c.perViewMs : k.rawMs * (c.factors[keyOf(k, c.variant)] ?? 1) + c.perKernelMs + small + memoryMs(k)) + reorderMs(k);
    k.ms = Math.max(0, ms);
    cut += Math.min(0, ms);
  }
  return { totalMs: c.overheadMs + cut + kernels.reduce((s, k) => s + k.ms, 0), overheadMs: c.overheadMs, clampedMs: cut };
}

export function saveCalibration(store: Store, key: string, c: Calibration): void {
  store.saveCalibration(key, c);
}

export function loadCalibration(store: Store, key: string): Calibration | undefined {
  const json = store.calibration(key);
  if (!json) return undefined;
  let c: Calibration;
  try {
    c = JSON.parse(json) as Calibration;
  } catch {
    c = undefined as unknown as Calibration;
  }
  if (c?.format !== 2 || !Number.isFinite(c.perViewMs) || !VARIANTS.includes(c.variant) || !Object.values(c.factors ?? { x: NaN }).every(Number.isFinite) || !Number.isFinite(c.overheadMs) || ![c.perReorderMB, c.perReorder, c.perSmallKernelMs].every((x) => x === undefined || Number.isFinite(x))) {
    throw new UserError(`stored calibration for ${key} is unreadable or from an older latencylab; refit it with 'latencylab calibrate'`, 'calibration');
  }
  return c;
}
