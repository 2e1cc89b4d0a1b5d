import { extrapolatedModules, untrainedModules, type KernelPrediction, type ModelPrediction } from './predictor.js';

/** Presentation of whole-model predictions: the per-layer table and the predicted-vs-measured join. */

const shapeStr = (s: readonly number[]) => `[${s.join(',')}]`;

export interface LayerRow {
  name: string;
  op: string;
  shape: string;
  mflops: number;
  ms: number;
  share: number;
  source: string;
  extrapolated: string;
}

/** the compute kernels, largest share first; `top` rows at most */
export function layerRows(p: ModelPrediction, top = Infinity): LayerRow[] {
  const compute = p.kernels.filter((k) => k.group !== 'free');
  const sum = compute.reduce((s, k) => s + k.ms, 0) || 1;
  return [...compute]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((k) => ({
      name: k.kernel.name,
      op: [k.kernel.op, ...k.kernel.fused].join('+'),
      shape: `${k.kernel.inputShapes.map(shapeStr).join(' ')} → ${shapeStr(k.kernel.outputShape)}`,
      mflops: k.kernel.flops / 1e6,
      ms: k.ms,
      share: k.ms / sum,
      source: k.module ? `${k.module} ${k.source.slice(3)}` : k.source,
      extrapolated: [...k.extrapolated, ...k.approx.filter((a) => !a.startsWith('fused'))].join('; '),
    }));
}

/** A prediction as JSON: `predict --json` and the prediction service answer this (plus their own fields). */
export function predictionRecord(p: ModelPrediction, top = Infinity) {
  return {
    device: p.setting.device,
    threads: p.setting.threads,
    totalMs: p.totalMs,
    rawSumMs: p.rawSumMs,
    overheadMs: p.overheadMs,
    clampedMs: p.clampedMs,
    calibrated: p.calibrated,
    coverage: p.coverage,
    flops: p.flops,
    datasets: p.datasets,
    fusion: p.fusion,
    probeMs: p.probeMs,
    untrained: untrainedModules(p),
    extrapolated: extrapolatedModules(p),
    layers: layerRows(p, top),
  };
}

/**
 * The original node (or output tensor) a profiled node comes from: onnxruntime names fused nodes
 * `MatMul_9/MatMulAddFusion`, `Mul_3/QuickGeluFusion/`, layout-converted ones `relu_7_nchwc`, and
 * rewritten reshapes `Reshape_22_new_reshape`.
 */
export const profiledNodeKey = (name: string) => name.split('/')[0]!.replace(/_bn_nchwc$/, '').replace(/_nchwc$/, '').replace(/_new_reshape$/, '');

export interface ComparedLayer {
  kernel: string;
  op: string;
  predictedMs: number;
  measuredMs: number;
  /** outside the module predictor's trained ranges ('' when inside): where large errors usually come from */
  extrapolated: string;
}

/**
 * Joins onnxruntime's per-node times to the predicted kernels. The profiler names a fused node
 * after a node or an output tensor of its chain (e.g. `relu_7_nchwc`), so every node name and
 * output tensor of a kernel is a key. Nodes the runtime inserted (NCHWc reorders) match nothing
 * and are returned apart.
 */
export function compareLayers(p: ModelPrediction, nodes: ReadonlyArray<{ name: string; op: string; ms: number }>): { layers: ComparedLayer[]; unmatched: Array<{ name: string; op: string; ms: number }> } {
  const byKey = new Map<string, KernelPrediction>();
  for (const k of p.kernels) {
    for (const n of k.kernel.nodes) byKey.set(n, k);
    for (const t of k.kernel.outputs) byKey.set(t, k);
  }
  const measured = new Map<KernelPrediction, number>();
  const unmatched: Array<{ name: string; op: string; ms: number }> = [];
  for (const n of nodes) {
    const k = byKey.get(profiledNodeKey(n.name)) ?? byKey.get(n.name);
    if (k) measured.set(k, (measured.get(k) ?? 0) + n.ms);
    else unmatched.push(n);
  }
  const layers = [...measured].map(([k, ms]) => ({ kernel: k.kernel.name, op: [k.kernel.op, ...k.kernel.fused].join('+'), predictedMs: k.ms, measuredMs: ms, extrapolated: k.extrapolated.join('; ') }));
  return { layers: layers.sort((a, b) => b.measuredMs - a.measuredMs), unmatched };
}
