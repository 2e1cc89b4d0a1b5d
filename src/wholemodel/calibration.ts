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
 * 2 threads: 76.3 vs 74.3 %); 'modules+layout+ops': one factor per module, the reorder prices, and
 * a cost of its own per compute kernel of each op type (Conv, Add, Transpose, …; signed, on top of
 * the per-kernel one): a runtime dispatches, prepares and hands off kernels of different ops at
 * different prices, most visibly with a thread pool (design study on 2 threads with the 'gbt-e2e'
 * in-graph correction: 82.6 % within ±10 % on CV + validation vs 77.1 % for 'modules+layout+small');
 * 'modules+transfer': one factor per module and a signed price per MB of activations a kernel reads
 * and writes — a module timed alone pays for moving its input and output into and out of the
 * runtime (onnxruntime-web copies them between JavaScript and the wasm heap: 42 % of a standalone
 * Relu's time on a 9.8 MB map, scripts/wasm-io-probe.mjs), which a kernel inside a network does
 * not, and wasm has no per-node profile for an in-graph correction to learn it from (session 41,
 * wasm choice data: 93.5 % within ±10 % vs 91.7 % for 'modules+layout+ops', price −68 µs/MB).
 * bench:models chooses between them (and no calibration) on validation networks.
 */
export const VARIANTS = ['groups', 'modules', 'kinds', 'groups+memory', 'groups+layout', 'modules+layout', 'modules+layout+small', 'modules+layout+ops', 'modules+transfer'] as const;

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
  /** 'groups+memory': ms per MB of weights / of activations a kernel reads and writes ('modules+transfer': activations only, may be negative) */
  perWeightMB?: number;
  perActivationMB?: number;
  /** 'groups+layout', 'modules+layout': ms per MB reordered between NCHWc and NCHW, and per reorder node */
  perReorderMB?: number;
  perReorder?: number;
  /** 'modules+layout+small': the cost of a small kernel (SMALL_KERNEL_MS) beyond the per-kernel one, ms (may be negative) */
  perSmallKernelMs?: number;
  /** 'modules+layout+ops': the cost of a compute kernel of each op type beyond the per-kernel one, ms (may be negative; an op never seen in fitting gets 0) */
  perOpMs?: Record<string, number>;
  /** ms per MB of the model's outputs (Kernel.modelOutputBytes), ≥ 0; calibrations fitted before it have none */
  perOutputMB?: number;
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
  /**
   * how each calibration measurement's machine state was read (calibrate.ts's probe windows, in
   * seconds; PER_ROUND = -1: the lower of the probes around its quietest round): a measurement
   * compared with a prediction (`measure --compare`) is read the same way
   */
  probeWindowS?: number;
}

/** a measurement expressed at the nominal machine state: latency × nominal probe / probe at the time */
export const atNominal = (latencyMs: number, probeMs: number | undefined, nominalProbeMs: number | undefined) =>
  probeMs && nominalProbeMs ? (latencyMs * nominalProbeMs) / probeMs : latencyMs;

interface Predicted {
  group: KernelGroup;
  module?: string;
  kernel?: { op?: string; weightShapes: number[][]; bytes: number; weightBytes: number; reorderBytes?: number; reorders?: number; modelOutputBytes?: number };
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

/** the op types of the compute kernels the 'modules+layout+ops' variant prices (none for the others) */
function opKeys(models: ReadonlyArray<{ kernels: readonly Predicted[] }>, v: CalibrationVariant): string[] {
  if (v !== 'modules+layout+ops') return [];
  const ops = new Set<string>();
  for (const m of models) for (const k of m.kernels) if (k.group !== 'free') ops.add(opOf(k));
  return [...ops].sort();
}
const opOf = (k: Predicted) => k.kernel?.op ?? '?';

/** features of one model's kernel predictions: [1, compute kernels, view kernels, (MB weights, MB activations | reorder MB, reorders,) (small kernels,) (MB of model outputs,) (kernels per op,) Σ raw ms per key] */
function features(kernels: readonly Predicted[], keys: readonly string[], v: CalibrationVariant, ops: readonly string[] = [], outputs = false): number[] {
  const sums = new Map<string, number>();
  let compute = 0;
  let views = 0;
  let weightMB = 0;
  let activationMB = 0;
  let reorderMB = 0;
  let reorders = 0;
  let outputMB = 0;
  const opCounts = new Map<string, number>();
  for (const k of kernels) {
    reorderMB += (k.kernel?.reorderBytes ?? 0) / 1e6;
    outputMB += (k.kernel?.modelOutputBytes ?? 0) / 1e6;
    reorders += k.kernel?.reorders ?? 0;
    if (k.group === 'free') {
      views++;
      continue;
    }
    compute++;
    weightMB += (k.kernel?.weightBytes ?? 0) / 1e6;
    activationMB += ((k.kernel?.bytes ?? 0) - (k.kernel?.weightBytes ?? 0)) / 1e6;
    sums.set(keyOf(k, v), (sums.get(keyOf(k, v)) ?? 0) + k.rawMs);
    if (ops.length) opCounts.set(opOf(k), (opCounts.get(opOf(k)) ?? 0) + 1);
  }
  const memory = v === 'groups+memory' ? [weightMB, activationMB] : hasLayout(v) ? [reorderMB, reorders] : v === 'modules+transfer' ? [activationMB] : [];
  if (v === 'modules+layout+small') memory.push(kernels.filter((k) => k.group !== 'free' && k.rawMs < SMALL_KERNEL_MS).length);
  if (outputs) memory.push(outputMB);
  return [1, compute, views, ...memory, ...ops.map((op) => opCounts.get(op) ?? 0), ...keys.map((key) => sums.get(key) ?? 0)];
}

/**
 * Ridge on the per-op prices of 'modules+layout+ops' (on their standardised weights, next to 1 per
 * network's squared relative error). Op counts go together in the generated families (a
 * squeeze-excite block is one GlobalAveragePool and one Mul): unpenalised, the fit on 2 threads
 * priced Mul at +111 µs and GlobalAveragePool at −110 µs, which cancel in those blocks and add
 * 11 ms to PP-OCRv4 rec's 100 Muls without one. Chosen on the calibration CV + validation networks
 * (scripts/models-design-study.mjs OP_RIDGE=…; reports/models-history.md).
 */
export const OP_PRICE_RIDGE = 10;

/** a calibration's coefficients in words, as bench:models' report and `latencylab calibrate` print them */
export function describeCalibration(c: Calibration): string {
  const us = (ms: number, digits = 2) => (ms * 1000).toFixed(digits);
  return (
    `overhead ${c.overheadMs.toFixed(4)} ms, per kernel ${us(c.perKernelMs)} µs, per view op ${us(c.perViewMs)} µs, factors ${Object.entries(c.factors).map(([k, f]) => `${k} ${f.toFixed(2)}`).join(', ')}` +
    (c.perWeightMB !== undefined ? `, per MB of weights ${us(c.perWeightMB, 1)} µs` : '') +
    (c.perActivationMB !== undefined ? `, per MB of activations a kernel reads and writes ${us(c.perActivationMB, 1)} µs` : '') +
    (c.perReorderMB !== undefined ? `, per reorder between layouts ${us(c.perReorder ?? 0)} µs + ${us(c.perReorderMB, 1)} µs per MB` : '') +
    (c.perSmallKernelMs !== undefined ? `, per kernel predicted under 10 µs ${us(c.perSmallKernelMs)} µs more` : '') +
    (c.perOutputMB !== undefined ? `, per MB of model outputs ${us(c.perOutputMB, 1)} µs` : '') +
    (c.perOpMs ? `, per kernel of each op beyond that (µs): ${Object.entries(c.perOpMs).map(([op, v]) => `${op} ${us(v)}`).join(', ')}` : '')
  );
}

/** how many coefficients fitCalibration fits for `variant` with these factor keys and priced ops: each needs a network */
const coefficients = (variant: CalibrationVariant, keys: readonly string[], ops: readonly string[], outputs = OUTPUT_TERM) => 3 + memoryTerms(variant) + (outputs ? 1 : 0) + keys.length + ops.length;

/** whether `models` are enough for fitCalibration to fit `variant` */
export function canFitCalibration(models: ReadonlyArray<{ kernels: readonly Predicted[] }>, variant: CalibrationVariant): boolean {
  return models.length >= coefficients(variant, factorKeys(models, variant), opKeys(models, variant));
}

/**
 * `measuredMs` must already be at the nominal machine state (atNominal) when `probeMs` is given.
 * `o.viewsNonNegative`: the per-view price kept ≥ 0 (a study option, off in the product: on
 * ort-cpu 1 thread the fit prices a view op at −4 µs and ShuffleNetV2's Split at +12 µs, which
 * cancel by their counts; scripts/models-design-study.mjs VIEWS_NONNEG=1). `o.factorRidge`: a
 * ridge pulling every factor toward 1 rather than leaving it free (a study option, off in the
 * product: with in-graph times attributed to end-to-end ones a factor far from 1 absorbs some
 * family's residual; on the choice data, FACTOR_RIDGE=100: 1 thread 92.3 → 92.7 %, 2 threads
 * 82.7 → 81.2 % within ±10 %)
 */
export function fitCalibration(models: ReadonlyArray<{ kernels: readonly Predicted[]; measuredMs: number }>, variant: CalibrationVariant = 'groups', probeMs?: number, o: { opRidge?: number; viewsNonNegative?: boolean; factorRidge?: number; outputs?: boolean } = {}): Calibration {
  const keys = factorKeys(models, variant);
  const ops = opKeys(models, variant);
  const outputs = o.outputs ?? OUTPUT_TERM;
  const needed = coefficients(variant, keys, ops, outputs);
  if (models.length < needed) throw new UserError(`calibration needs at least ${needed} measured models, got ${models.length}`, 'calibration');
  const outputAt = 3 + memoryTerms(variant);
  const first = outputAt + (outputs ? 1 : 0);
  // the per-kernel and per-view terms may be negative: per-kernel estimates from per-node
  // profiles carry the profiler's own per-node cost, which end-to-end runs do not pay; so may the
  // small-kernel and per-op ones, which are prices on top of the per-kernel one
  // as may the transfer price, which takes off what a module timed alone paid to move its data
  const signed = new Set([1, ...(o.viewsNonNegative ? [] : [2]), ...(variant === 'modules+layout+small' ? [5] : []), ...(variant === 'modules+transfer' ? [3] : []), ...ops.map((_, i) => first + i)]);
  const opRidge = o.opRidge ?? OP_PRICE_RIDGE;
  const factorAt = first + ops.length;
  const penalties = new Map([...ops.map((_, i): [number, number] => [first + i, opRidge]), ...(o.factorRidge ? keys.map((_, i): [number, number] => [factorAt + i, o.factorRidge!]) : [])]);
  const priors = new Map(o.factorRidge ? keys.map((_, i): [number, number] => [factorAt + i, 1]) : []);
  const w = fitNonNegativeRelative(models.map((m) => features(m.kernels, keys, variant, ops, outputs)), models.map((m) => m.measuredMs), 1e-6, signed, penalties, priors);
  return {
    format: 2,
    variant,
    overheadMs: w[0]!,
    perKernelMs: w[1]!,
    perViewMs: w[2]!,
    ...(variant === 'groups+memory' ? { perWeightMB: w[3]!, perActivationMB: w[4]! } : {}),
    ...(variant === 'modules+transfer' ? { perActivationMB: w[3]! } : {}),
    ...(hasLayout(variant) ? { perReorderMB: w[3]!, perReorder: w[4]! } : {}),
    ...(variant === 'modules+layout+small' ? { perSmallKernelMs: w[5]! } : {}),
    ...(outputs ? { perOutputMB: w[outputAt]! } : {}),
    ...(variant === 'modules+layout+ops' ? { perOpMs: Object.fromEntries(ops.map((op, i) => [op, w[first + i]!])) } : {}),
    factors: Object.fromEntries(keys.map((key, i) => [key, w[first + ops.length + i]!])),
    models: models.length,
    fittedAt: new Date().toISOString(),
    ...(probeMs ? { probeMs } : {}),
  };
}

/**
 * Whether calibrations price the model's outputs (perOutputMB). A run allocates its outputs afresh
 * and copies them out: on PP-OCR-style recognisers with a 6,625-class head over 160 steps (4.2 MB)
 * 0.3–1.8 ms of end-to-end time that no node's profile holds, so those networks were predicted
 * 6–22 % low (the textline family's calibration networks, 1 thread; reports/models-history.md).
 * Chosen on the choice data (calibration CV + validation, scripts/models-design-study.mjs OUTPUTS=0
 * against the default, 2026-12-06): within ±10 % 91.3 → 92.7 % on 1 thread, 81.2 → 82.7 % on 2
 * (textline 61 → 81 % and 56 → 75 %); on ort-wasm unchanged (scripts/models-calibration-study.mjs).
 */
export const OUTPUT_TERM = true;

const hasLayout = (v: CalibrationVariant) => v === 'groups+layout' || v === 'modules+layout' || v === 'modules+layout+small' || v === 'modules+layout+ops';
const memoryTerms = (v: CalibrationVariant) => (v === 'modules+layout+small' ? 3 : v === 'groups+memory' || hasLayout(v) ? 2 : v === 'modules+transfer' ? 1 : 0);

/**
 * Sets each kernel's calibrated ms and returns the model total (raw sum without a calibration):
 * totalMs = overheadMs + clampedMs + Σ kernel ms, where clampedMs (≤ 0) is what was cut off layers
 * whose linear estimate fell below zero, as far as the total stays at least the slowest layer's.
 */
export function applyCalibration(c: Calibration | undefined, kernels: Predicted[]): { totalMs: number; overheadMs: number; clampedMs: number } {
  if (!c) {
    for (const k of kernels) k.ms = k.rawMs;
    return { totalMs: kernels.reduce((s, k) => s + k.rawMs, 0), overheadMs: 0, clampedMs: 0 };
  }
  const memoryMs = (k: Predicted) => ((c.perWeightMB ?? 0) * (k.kernel?.weightBytes ?? 0) + (c.perActivationMB ?? 0) * ((k.kernel?.bytes ?? 0) - (k.kernel?.weightBytes ?? 0))) / 1e6;
  // a view op (Reshape after a blocked pooling, say) can need a reorder too
  const reorderMs = (k: Predicted) => ((c.perReorderMB ?? 0) * (k.kernel?.reorderBytes ?? 0)) / 1e6 + (c.perReorder ?? 0) * (k.kernel?.reorders ?? 0);
  // whichever kernel writes a model output (a view op included) pays for handing it out
  const outputMs = (k: Predicted) => ((c.perOutputMB ?? 0) * (k.kernel?.modelOutputBytes ?? 0)) / 1e6;
  // The per-kernel and per-view terms may be negative (fitCalibration): a tiny layer's linear
  // estimate can fall below zero. No layer is shown taking negative time; what is cut off stays in
  // the total (clampedMs), so the total is the fitted one (clamping the total itself lost accuracy
  // on validation networks: bench:models, 2026-12-03), and the per-model overhead shown is the
  // fitted one (≥ 0), not made negative by it.
  let cut = 0;
  let sum = 0;
  let slowest = 0;
  for (const k of kernels) {
    const small = k.rawMs < SMALL_KERNEL_MS ? (c.perSmallKernelMs ?? 0) : 0;
    // own keys only: a user's graph may name an op 'constructor' or 'toString'
    const op = opOf(k);
    const perOp = c.perOpMs && Object.hasOwn(c.perOpMs, op) ? c.perOpMs[op]! : 0;
    const ms = (k.group === 'free' ? c.perViewMs : k.rawMs * (c.factors[keyOf(k, c.variant)] ?? 1) + c.perKernelMs + small + perOp + memoryMs(k)) + reorderMs(k) + outputMs(k);
    k.ms = Math.max(0, ms);
    cut += Math.min(0, ms);
    sum += k.ms;
    slowest = Math.max(slowest, k.ms);
  }
  // …but never below the slowest layer: a network cannot run faster than one of its kernels (a
  // per-op price fitted on large networks once took a small BERT's total below zero on wasm)
  const clampedMs = Math.max(cut, slowest - c.overheadMs - sum);
  return { totalMs: c.overheadMs + clampedMs + sum, overheadMs: c.overheadMs, clampedMs };
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
  if (c?.format !== 2 || !Number.isFinite(c.perViewMs) || !VARIANTS.includes(c.variant) || !Object.values(c.factors ?? { x: NaN }).every(Number.isFinite) || !Number.isFinite(c.overheadMs) || ![c.perReorderMB, c.perReorder, c.perSmallKernelMs, c.perWeightMB, c.perActivationMB, c.perOutputMB].every((x) => x === undefined || Number.isFinite(x)) || (c.perOpMs !== undefined && (typeof c.perOpMs !== 'object' || c.perOpMs === null || !Object.values(c.perOpMs).every(Number.isFinite))) || (c.probeWindowS !== undefined && typeof c.probeWindowS !== 'number')) {
    throw new UserError(`stored calibration for ${key} is unreadable or from an older latencylab; refit it with 'latencylab calibrate'`, 'calibration');
  }
  return c;
}
