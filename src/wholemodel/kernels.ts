import type { ImportedModel, ImportedNode } from '../ir/onnx-shapes.js';
import { einsum } from '../ir/shape-rules.js';
import { convRunsNchwc } from '../runtimes/hardware.js';
import type { FusionTable } from './fusion.js';

/**
 * Splits an imported graph into the kernels the runtime executes: constant subgraphs disappear
 * (folded at session creation), shape-only ops cost nothing, and fusable chains (Conv → BN → Add →
 * Relu, MatMul → Add, the GELU pattern, …) become one kernel per the device's fusion table.
 */
export type KernelClass = 'compute' | 'free';

export interface Kernel {
  /** name of the anchor node (the first node of the chain, as the runtime's profiler names it) */
  name: string;
  /** ONNX op of the anchor node, or 'Gelu' for the fused pattern */
  op: string;
  /** ops absorbed into the anchor, in order */
  fused: string[];
  /** names of every node covered */
  nodes: string[];
  /** output tensors of every node covered */
  outputs: string[];
  cls: KernelClass;
  /** shapes of the anchor's data inputs (not weights) */
  inputShapes: number[][];
  /** shapes of the anchor's weight inputs (initializers / constants) */
  weightShapes: number[][];
  outputShape: number[];
  attrs: ImportedNode['attrs'];
  /** FLOPs of the whole chain (a MAC = 2) */
  flops: number;
  /** bytes read and written: data inputs, weights, output (float32) */
  bytes: number;
  /** of which weights (initializers): read cold inside a network whose weights exceed the caches */
  weightBytes: number;
  /**
   * bytes of the tensors onnxruntime converts between its blocked NCHWc layout and plain NCHW
   * before this kernel (ReorderInput / ReorderOutput nodes it inserts; nchwcLayout below)
   */
  reorderBytes: number;
  /** how many tensors that is (each reorder is a node onnxruntime dispatches) */
  reorders: number;
  /**
   * bytes of its outputs that are the model's outputs: a run allocates them afresh and hands them
   * to the caller, a cost outside every node's profiled time (calibration's perOutputMB)
   */
  modelOutputBytes: number;
}

/** integer (quantized) ops: tensors of 1 byte an element, priced as float32 ones (by a float module or the roofline, and flagged) */
export const INTEGER_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger', 'QLinearAdd', 'QLinearMul', 'QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearGlobalAveragePool', 'QGemm']);
const FREE = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Constant', 'Shape', 'Size']);
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const F32 = 4;

/** what kernel detection and the layout analysis both need to know about a graph */
function graphFacts(m: ImportedModel, table: FusionTable) {
  const consumers = new Map<string, ImportedNode[]>();
  for (const n of m.nodes) {
    for (const t of n.inputs) {
      if (!t) continue;
      const cs = consumers.get(t);
      if (cs) cs.push(n);
      else consumers.set(t, [n]);
    }
  }
  const isConst = (t: string) => m.constants.has(t) || m.values.has(t);
  // a node whose every input is constant is folded away when the session is created
  const folded = new Set<string>();
  for (const n of m.nodes) {
    if (n.inputs.filter(Boolean).every((t) => isConst(t) || folded.has(t))) for (const o of n.outputs) folded.add(o);
  }
  const dataInputs = (n: ImportedNode) => n.inputs.filter((t) => t && !isConst(t) && !folded.has(t));
  const producer = new Map<string, ImportedNode>();
  for (const n of m.nodes) for (const o of n.outputs) producer.set(o, n);
  /** whether a tensor is in NCHWc layout: its channels, and a Concat's every input, fill whole blocks */
  const blocked = (t: string): boolean => {
    const aligned = (x: string) => table.nchwcBlock > 0 && (m.shapes.get(x)?.[1] ?? 1) % table.nchwcBlock === 0 && m.shapes.get(x)?.length === 4;
    const p = producer.get(t);
    return aligned(t) && (p?.op !== 'Concat' || p.inputs.every(aligned));
  };
  return { consumers, isConst, folded, dataInputs, blocked };
}

/** the tensors onnxruntime reorders between its NCHWc layout and plain NCHW (nchwcReorders) */
export function reorderedTensors(m: ImportedModel, table: FusionTable): string[] {
  const f = graphFacts(m, table);
  return [...nchwcReorders(m, table.nchwcBlock, f.dataInputs).values()].flat();
}

export function detectKernels(m: ImportedModel, table: FusionTable): Kernel[] {
  const { consumers, isConst, folded, dataInputs, blocked } = graphFacts(m, table);
  const outputs = new Set(m.outputs);
  /** the single consumer of a node's output, when that output feeds nothing else */
  const only = (n: ImportedNode): ImportedNode | undefined => {
    const out = n.outputs[0]!;
    const cs = consumers.get(out) ?? [];
    return cs.length === 1 && !outputs.has(out) ? cs[0] : undefined;
  };
  const has = (r: Parameters<FusionTable['rules']['has']>[0]) => table.rules.has(r);
  const scalarConst = (n: ImportedNode) => n.inputs.some((t) => isConst(t) && numel(m.shapes.get(t) ?? [2]) === 1);
  const reorders = nchwcReorders(m, table.nchwcBlock, dataInputs);
  const taken = new Set<string>();
  const kernels: Kernel[] = [];
  for (const n of m.nodes) {
    if (taken.has(n.name)) continue;
    if (n.outputs.every((o) => folded.has(o))) {
      taken.add(n.name);
      continue;
    }
    const chain: ImportedNode[] = [n];
    let op = n.op;
    const extend = (pred: (c: ImportedNode) => boolean): boolean => {
      const c = only(chain[chain.length - 1]!);
      if (!c || taken.has(c.name) || !pred(c)) return false;
      chain.push(c);
      return true;
    };
    /** x → HardSigmoid(α 1/6, β 1/2) → Mul(x, ·), x feeding nothing else: hard-swish as tf2onnx writes it */
    const extendHardSwish = (): boolean => {
      const x = chain[chain.length - 1]!.outputs[0]!;
      const cs = consumers.get(x) ?? [];
      if (cs.length !== 2 || outputs.has(x)) return false;
      const gate = cs.find((c) => c.op === 'HardSigmoid' && Math.abs(Number(c.attrs.alpha ?? 0.2) - 1 / 6) < 1e-6 && Math.abs(Number(c.attrs.beta ?? 0.5) - 0.5) < 1e-6);
      const mul = cs.find((c) => c.op === 'Mul');
      if (!gate || !mul || taken.has(gate.name) || taken.has(mul.name) || only(gate) !== mul || !mul.inputs.includes(x)) return false;
      chain.push(gate, mul);
      return true;
    };
    if (n.op === 'Conv') {
      if (has('conv-bn')) extend((c) => c.op === 'BatchNormalization');
      if (has('conv-add')) {
        extend((c) => c.op === 'Add' && dataInputs(c).length === 2 && sameShape(m, c.inputs[0]!, c.inputs[1]!));
      }
      if (!(has('conv-hardswish') && extendHardSwish())) {
        if (has('conv-act')) extend((c) => table.convActs.has(c.op));
      }
    } else if (n.op === 'MatMul') {
      if (has('matmul-add') && isConst(n.inputs[1]!)) extend((c) => c.op === 'Add' && c.inputs.some(isConst));
      if (has('matmul-scale') && !isConst(n.inputs[1]!)) extend((c) => (c.op === 'Mul' || c.op === 'Div') && scalarConst(c));
    } else if (n.op === 'Div' && has('gelu') && scalarConst(n)) {
      // x / √2 → Erf → + 1 → · x → · 0.5 (the exact-GELU pattern exporters write)
      const start = chain.length;
      const ok = extend((c) => c.op === 'Erf') && extend((c) => c.op === 'Add' && scalarConst(c)) && extend((c) => c.op === 'Mul') && extend((c) => c.op === 'Mul' && scalarConst(c));
      if (ok) op = 'Gelu';
      else chain.splice(start);
    } else if (n.op === 'Sigmoid' && has('swish')) {
      // x → Sigmoid → Mul(x, ·): swish / SiLU
      if (extend((c) => c.op === 'Mul' && c.inputs.includes(n.inputs[0]!))) op = 'QuickGelu';
    } else if (n.op === 'BatchNormalization' && has('bn-act') && blocked(n.inputs[0]!)) {
      extend((c) => table.convActs.has(c.op));
    } else if (n.op === 'Add' && has('add-layernorm') && dataInputs(n).length >= 1 && sameShape(m, n.inputs[0]!, n.inputs[1]!)) {
      if (extend((c) => c.op === 'LayerNormalization')) op = 'SkipLayerNormalization';
    }
    // plain loops below: this runs for every node of every predicted network (flatMap and spreads
    // here were a tenth of a whole-model prediction's time)
    const nodes: string[] = [];
    const chainOutputs: string[] = [];
    let flops = 0;
    let reorderElems = 0;
    let reorderCount = 0;
    for (const c of chain) {
      taken.add(c.name);
      nodes.push(c.name);
      for (const o of c.outputs) chainOutputs.push(o);
      flops += nodeFlops(m, c);
      const r = reorders.get(c.name);
      if (r) {
        reorderCount += r.length;
        for (const t of r) reorderElems += numel(m.shapes.get(t) ?? []);
      }
    }
    const last = chain[chain.length - 1]!;
    const ins = dataInputs(n).map((t) => m.shapes.get(t)!);
    const weights = n.inputs.filter((t) => t && (isConst(t) || folded.has(t))).map((t) => m.shapes.get(t)!);
    const outputShape = m.shapes.get(last.outputs[0]!)!;
    // data a fused op reads from outside the chain (a residual Add's other operand)
    let inElems = 0;
    for (const sh of ins) inElems += numel(sh);
    for (let i = 1; i < chain.length; i++) {
      for (const t of dataInputs(chain[i]!)) if (!chainOutputs.includes(t)) inElems += numel(m.shapes.get(t)!);
    }
    let weightElems = 0;
    for (const sh of weights) weightElems += numel(sh);
    // a Gather from a constant table (an embedding) reads the rows it gathers, not the whole table
    if (n.op === 'Gather' && weights.length) weightElems = Math.min(numel(outputShape), weightElems);
    kernels.push({
      name: n.name,
      op,
      fused: chain.slice(1).map((c) => c.op),
      nodes,
      outputs: chainOutputs,
      cls: FREE.has(n.op) && chain.length === 1 ? 'free' : 'compute',
      inputShapes: ins,
      weightShapes: weights,
      outputShape,
      attrs: n.attrs,
      flops,
      bytes: F32 * (inElems + weightElems + numel(outputShape)),
      weightBytes: F32 * weightElems,
      reorderBytes: F32 * reorderElems,
      reorders: reorderCount,
      modelOutputBytes: F32 * chainOutputs.filter((t) => outputs.has(t)).reduce((s, t) => s + numel(m.shapes.get(t) ?? []), 0),
    });
  }
  return kernels;
}

/** layout-transparent elementwise ops: they run on a blocked tensor as it is */
const NCHWC_UNARY = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh']);
/** ops the NCHWc transformer runs blocked when their input is blocked with whole blocks of channels */
const NCHWC_FOLLOWERS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'Resize', 'Upsample']);

/**
 * Where onnxruntime's NCHWc transformer (x86) converts layouts, per consuming node: the tensors it
 * reorders. A sketch of its rules (nchwc_transformer.cc), as observed in its optimised graphs of
 * the generated families: a Conv runs blocked when its input already is (channels padded to whole
 * blocks), or its input has fewer channels than a block (the stem reads NCHW), or whole blocks of
 * them (reordered in); a depthwise Conv likewise, a grouped one only with whole blocks per group; pooling, BatchNormalization and
 * resizing stay blocked on blocked inputs with whole blocks of real channels; elementwise
 * activations, same-shape Add/Sum/Mul (swish) and channel Concat stay blocked; anything else
 * reading a blocked tensor (a broadcast Mul in squeeze-excite, Reshape/Transpose, a graph output)
 * gets it reordered out, once per tensor. bench:models lets the calibration price a reordered MB
 * ('groups+layout') and keeps it only where validation networks say it helps.
 */
function nchwcReorders(m: ImportedModel, block: number, dataInputs: (n: ImportedNode) => string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (block <= 0) return out;
  const layoutBlocked = new Set<string>();
  const reordered = new Set<string>();
  const charge = (node: string, t: string) => {
    if (reordered.has(t)) return;
    reordered.add(t);
    out.set(node, [...(out.get(node) ?? []), t]);
  };
  const channels = (t: string) => m.shapes.get(t)?.[1] ?? 0;
  const is4d = (t: string) => m.shapes.get(t)?.length === 4;
  for (const n of m.nodes) {
    const ins = dataInputs(n);
    const x = ins[0];
    let runsBlocked = false;
    if (n.op === 'Conv' && x && is4d(x)) {
      const cin = channels(x);
      const group = Number(n.attrs.group ?? 1);
      const cout = channels(n.outputs[0]!);
      // an input already blocked has its channels padded to whole blocks
      runsBlocked = convRunsNchwc(cin, cout, group, block) || (layoutBlocked.has(x) && (group === 1 || (group === cin && cout === cin)));
      if (runsBlocked && cin >= block && !layoutBlocked.has(x)) charge(n.name, x);
    } else if (x && NCHWC_UNARY.has(n.op)) {
      runsBlocked = layoutBlocked.has(x);
    } else if (x && NCHWC_FOLLOWERS.has(n.op)) {
      runsBlocked = layoutBlocked.has(x) && channels(x) % block === 0;
    } else if (n.op === 'Add' || n.op === 'Sum' || n.op === 'Mul') {
      runsBlocked = ins.length >= 2 && ins.every((t) => layoutBlocked.has(t) && sameShape(m, t, ins[0]!));
    } else if (n.op === 'Concat') {
      runsBlocked = Number(n.attrs.axis ?? 0) === 1 && ins.length > 0 && ins.every((t) => layoutBlocked.has(t) && channels(t) % block === 0);
    }
    if (runsBlocked) for (const o of n.outputs) layoutBlocked.add(o);
    else for (const t of ins) if (layoutBlocked.has(t)) charge(n.name, t);
  }
  // a blocked graph output is reordered back for the caller
  for (const t of m.outputs) {
    if (!layoutBlocked.has(t)) continue;
    const producer = m.nodes.find((n) => n.outputs.includes(t));
    if (producer) charge(producer.name, t);
  }
  return out;
}

function sameShape(m: ImportedModel, a: string, b: string): boolean {
  const x = m.shapes.get(a);
  const y = m.shapes.get(b);
  return !!x && !!y && x.length === y.length && x.every((d, i) => d === y[i]);
}

/** FLOPs of one node from the inferred shapes (2 per MAC for Conv/Gemm/MatMul, ~1 per output element otherwise). */
export function nodeFlops(m: ImportedModel, n: ImportedNode): number {
  const out = m.shapes.get(n.outputs[0] ?? '');
  if (!out) return 0;
  const outElems = numel(out);
  switch (n.op) {
    case 'Conv':
    case 'FusedConv':
    case 'ConvInteger':
    case 'QLinearConv': {
      const w = m.shapes.get(n.inputs[n.op === 'QLinearConv' ? 3 : 1]!);
      return w ? 2 * outElems * numel(w.slice(1)) : outElems;
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN': {
      // per step, direction and gate: a [batch, input + hidden] × [input + hidden, hidden] product
      const w = m.shapes.get(n.inputs[1]!);
      const r = m.shapes.get(n.inputs[2]!);
      const x = m.shapes.get(n.inputs[0]!);
      if (!w || !r || !x) return outElems;
      const steps = n.attrs.layout === 1 ? x[1]! : x[0]!;
      const batch = n.attrs.layout === 1 ? x[0]! : x[1]!;
      return 2 * steps * batch * w[0]! * w[1]! * (w[2]! + r[2]!);
    }
    case 'Einsum': {
      const shapes = n.inputs.map((t) => m.shapes.get(t));
      const eq = n.attrs.equation;
      if (typeof eq !== 'string' || shapes.some((x) => !x)) return outElems;
      return (shapes.length > 1 ? 2 : 1) * einsum(eq, shapes as number[][]).iterations;
    }
    case 'ConvTranspose': {
      const x = m.shapes.get(n.inputs[0]!);
      const w = m.shapes.get(n.inputs[1]!);
      return x && w ? 2 * numel(x) * numel(w.slice(1)) : outElems;
    }
    case 'Gemm':
    case 'FusedGemm':
    case 'MatMul':
    case 'FusedMatMul':
    case 'MatMulInteger':
    case 'QLinearMatMul': {
      const a = m.shapes.get(n.inputs[0]!);
      if (!a) return outElems;
      const k = n.attrs.transA === 1 ? a[a.length - 2]! : a[a.length - 1]!;
      return 2 * outElems * k;
    }
    case 'MaxPool':
    case 'AveragePool': {
      const k = (n.attrs.kernel_shape as number[] | undefined) ?? [1];
      return outElems * numel(k);
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceL2':
    case 'ReduceSumSquare':
    case 'TopK':
      return numel(m.shapes.get(n.inputs[0]!) ?? out);
    case 'Softmax':
      return 5 * outElems;
    case 'LayerNormalization':
    case 'GroupNormalization':
    case 'InstanceNormalization':
      return 8 * outElems;
    default:
      return FREE.has(n.op) ? 0 : outElems;
  }
}
