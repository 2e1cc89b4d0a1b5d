import { broadcast } from './graph.js';

/**
 * Output shapes of the ops onnx-shapes.ts does not infer inline (those fold values of shape
 * arithmetic too): sliding-window ops, reductions, recurrent layers, Einsum, TopK, quantized
 * (integer) ops, onnxruntime's contrib ops, gathers and scatters, and the remaining
 * shape-preserving ops. One rule per op, registered by name: supporting another op is one entry
 * here (and its FLOPs in wholemodel/kernels.ts nodeFlops when it computes much).
 */
export interface NodeView {
  op: string;
  /** shape of input i; throws when it is unknown */
  shapeOf(i: number): number[];
  /** folded values of input i (small constant or shape-arithmetic tensors) */
  valueOf(i: number): number[] | undefined;
  /** whether optional input i is given */
  has(i: number): boolean;
  /** number of inputs / outputs the node names */
  inputs: number;
  outputs: number;
  /** sets output k's shape */
  set(shape: number[], value?: number[], k?: number): void;
  int(name: string, d: number): number;
  ints(name: string): number[] | undefined;
  str(name: string): string | undefined;
}

type Rule = (n: NodeView) => void;

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const axisOf = (a: number, r: number) => (a < 0 ? a + r : a);
/** every output the shape of input 0 (optional extra outputs — Dropout's mask, LayerNorm's mean — are rarely consumed) */
const likeInput: Rule = (n) => {
  const s = n.shapeOf(0);
  for (let k = 0; k < n.outputs; k++) n.set(s, undefined, k);
};

/** elementwise, normalising and other shape-preserving ops (Cast, Identity and Sqrt pass small values on: onnx-shapes.ts) */
const SHAPE_PRESERVING = [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Shrink', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Erf',
  'Gelu', 'FastGelu', 'QuickGelu', 'BiasGelu', 'BiasAdd', 'Mish', 'Softplus', 'Softsign', 'Exp', 'Log', 'Reciprocal', 'Neg', 'Abs',
  'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'BitwiseNot', 'IsNaN', 'IsInf', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh',
  'Asinh', 'Acosh', 'Atanh', 'Clip', 'Dropout', 'CastLike', 'EyeLike', 'CumSum', 'Trilu', 'Softmax', 'LogSoftmax', 'Hardmax',
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'MeanVarianceNormalization',
  'LpNormalization', 'LRN', 'QuantizeLinear', 'DequantizeLinear', 'QLinearSigmoid', 'QLinearLeakyRelu', 'ScatterND',
  'ScatterElements', 'Scatter',
];

/**
 * Sliding-window ops (Conv, ConvTranspose, the pools, and the integer convolutions with their
 * weight at input `w`): output spatial dims from kernel, strides, dilations, pads / auto_pad and
 * ceil_mode.
 */
function windowed(w: number | undefined): Rule {
  return (n) => {
    const x = n.shapeOf(0);
    const spatial = x.length - 2;
    const wt = w === undefined ? undefined : n.shapeOf(w);
    const k = n.ints('kernel_shape') ?? wt!.slice(2);
    const strides = n.ints('strides') ?? Array(spatial).fill(1);
    const dil = n.ints('dilations') ?? Array(spatial).fill(1);
    const autoPad = n.str('auto_pad') ?? 'NOTSET';
    const pads = autoPad === 'VALID' ? Array(2 * spatial).fill(0) : (n.ints('pads') ?? Array(2 * spatial).fill(0));
    const ceil = n.int('ceil_mode', 0) === 1;
    const transposed = n.op === 'ConvTranspose';
    const out = x.slice(2).map((size, i) => {
      const eff = dil[i]! * (k[i]! - 1) + 1;
      if (transposed) {
        const given = n.ints('output_shape')?.[i];
        if (given !== undefined) return given;
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
        return strides[i]! * (size - 1) + (n.ints('output_padding')?.[i] ?? 0) + eff - pads[i]! - pads[i + spatial]!;
      }
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / strides[i]!);
      const span = size + pads[i]! + pads[i + spatial]! - eff;
      if (span < 0) throw new Error(`kernel ${k[i]} is larger than the padded input ${size}`);
      return (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    });
    const channels = wt === undefined ? x[1]! : transposed ? wt[1]! * n.int('group', 1) : wt[0]!;
    n.set([x[0]!, channels, ...out]);
    if (n.outputs > 1) n.set([x[0]!, channels, ...out], undefined, 1); // MaxPool's indices
  };
}

/** MatMul's output shape of inputs a and b (numpy semantics, 1-D operands promoted) */
export function matmulShape(a: number[], b: number[]): number[] {
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) throw new Error(`MatMul shapes do not agree: [${a}] · [${b}]`);
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2), 'MatMul');
  return [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]!]), ...(b.length === 1 ? [] : [b2[b2.length - 1]!])];
}

/** An Einsum equation read against its operands' shapes. */
export interface EinsumPlan {
  shape: number[];
  /** size of the iteration space (every label's extent, the broadcast ellipsis included): its multiply-adds */
  iterations: number;
  /** each operand's term and the output's (implicit outputs written out) */
  terms: string[];
  output: string;
  /** every label's extent */
  dims: Map<string, number>;
  /** the broadcast extent of "..." */
  ellipsis: number[];
}

export function einsum(equation: string, shapes: number[][]): EinsumPlan {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) throw new Error(`Einsum equation "${equation}" names ${terms.length} operand(s), the node has ${shapes.length}`);
  const dims = new Map<string, number>();
  let ellipsis: number[] = [];
  const counts = new Map<string, number>();
  terms.forEach((t, i) => {
    const s = shapes[i]!;
    const labels = t.replace('...', '');
    if (!/^[A-Za-z]*$/.test(labels) || t.split('...').length > 2) throw new Error(`Einsum term "${t}" is not letters with at most one "..."`);
    const ellRank = s.length - labels.length;
    if (ellRank < 0 || (ellRank > 0 && !t.includes('...'))) throw new Error(`Einsum term "${t}" does not match an operand of rank ${s.length}`);
    const at = t.indexOf('...');
    if (at >= 0) ellipsis = broadcast(ellipsis, s.slice(at, at + ellRank), 'Einsum');
    [...labels].forEach((l, j) => {
      const d = s[at >= 0 && j >= at ? j + ellRank : j]!;
      const seen = dims.get(l);
      if (seen !== undefined && seen !== d && seen !== 1 && d !== 1) throw new Error(`Einsum label "${l}" is ${seen} in one operand and ${d} in another`);
      dims.set(l, Math.max(seen ?? 1, d));
      counts.set(l, (counts.get(l) ?? 0) + 1);
    });
  });
  const outTerm = rhs ?? `${eq.includes('...') ? '...' : ''}${[...counts].filter(([, c]) => c === 1).map(([l]) => l).sort().join('')}`;
  const shape: number[] = [];
  for (let i = 0; i < outTerm.length; i++) {
    if (outTerm.startsWith('...', i)) {
      shape.push(...ellipsis);
      i += 2;
      continue;
    }
    const d = dims.get(outTerm[i]!);
    if (d === undefined) throw new Error(`Einsum output label "${outTerm[i]}" is in no operand`);
    shape.push(d);
  }
  return { shape, iterations: numel([...dims.values()]) * numel(ellipsis), terms, output: outTerm, dims, ellipsis };
}

/** gates of a recurrent op (what its weight's second dim is a multiple of) */
export const RECURRENT_GATES: Record<string, number> = { LSTM: 4, GRU: 3, RNN: 1 };

/** LSTM (4 gates), GRU (3) and RNN (1): Y, Y_h (and LSTM's Y_c), by `layout` */
function recurrent(n: NodeView): void {
  const [x, w, r] = [n.shapeOf(0), n.shapeOf(1), n.shapeOf(2)];
  if (x.length !== 3 || w.length !== 3 || r.length !== 3) throw new Error(`X, W and R must be 3-D, got [${x}], [${w}], [${r}]`);
  const hidden = n.int('hidden_size', 0) || r[2]!;
  const dirs = n.str('direction') === 'bidirectional' ? 2 : 1;
  const gates = RECURRENT_GATES[n.op]!;
  // W is [directions, gates · hidden, input size], R [directions, gates · hidden, hidden]
  const want = [[dirs, gates * hidden, x[2]!], [dirs, gates * hidden, hidden]];
  if (![w, r].every((s, i) => s.every((d, j) => d === want[i]![j]))) {
    throw new Error(`W [${w}] and R [${r}] do not fit ${dirs} direction(s) × ${gates} gate(s) × hidden ${hidden} over ${x[2]} inputs (expected [${want[0]}] and [${want[1]}])`);
  }
  const batchFirst = n.int('layout', 0) === 1;
  const [seq, batch] = batchFirst ? [x[1]!, x[0]!] : [x[0]!, x[1]!];
  n.set(batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden], undefined, 0);
  const state = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
  for (let k = 1; k < n.outputs; k++) n.set(state, undefined, k);
}

/**
 * Reductions (and ArgMax/ArgMin, over their one `axis`): axes from the attribute or, from opset 18
 * (ReduceSum 13), the second input; none given reduces every axis, unless noop_with_empty_axes.
 */
function reduce(n: NodeView): void {
  const x = n.shapeOf(0);
  const arg = n.op === 'ArgMax' || n.op === 'ArgMin';
  const given = arg ? [n.int('axis', 0)] : n.has(1) ? n.valueOf(1) : n.ints('axes');
  if (n.has(1) && !given) throw new Error('axes are not constant');
  if ((!given || !given.length) && n.int('noop_with_empty_axes', 0) === 1) return n.set(x);
  const axes = given && given.length ? given.map((a) => axisOf(a, x.length)) : x.map((_, i) => i);
  const keep = n.int('keepdims', 1) === 1;
  n.set(x.flatMap((d, i) => (!axes.includes(i) ? [d] : keep ? [1] : [])));
}

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(SHAPE_PRESERVING.map((op) => [op, likeInput])),
  Conv: windowed(1),
  ConvTranspose: windowed(1),
  MaxPool: windowed(undefined),
  AveragePool: windowed(undefined),
  LpPool: windowed(undefined),
  LSTM: recurrent,
  GRU: recurrent,
  RNN: recurrent,
  Einsum: (n) => {
    const eq = n.str('equation');
    if (!eq) throw new Error('Einsum without an equation');
    n.set(einsum(eq, Array.from({ length: n.inputs }, (_, i) => n.shapeOf(i))).shape);
  },
  TopK: (n) => {
    const x = n.shapeOf(0);
    const k = n.has(1) ? n.valueOf(1)?.[0] : n.int('k', -1);
    if (k === undefined || k < 0) throw new Error('k is not constant');
    const a = axisOf(n.int('axis', -1), x.length);
    const out = x.map((d, i) => (i === a ? Math.min(k, d) : d));
    n.set(out, undefined, 0);
    if (n.outputs > 1) n.set(out, undefined, 1);
  },
  // integer (quantized) ops: shapes as their float counterparts (Quantize/DequantizeLinear: SHAPE_PRESERVING)
  DynamicQuantizeLinear: (n) => {
    n.set(n.shapeOf(0), undefined, 0);
    if (n.outputs > 1) n.set([], undefined, 1);
    if (n.outputs > 2) n.set([], undefined, 2);
  },
  QLinearConv: windowed(3),
  ConvInteger: windowed(1),
  QLinearMatMul: (n) => n.set(matmulShape(n.shapeOf(0), n.shapeOf(3))),
  MatMulInteger: (n) => n.set(matmulShape(n.shapeOf(0), n.shapeOf(1))),
  // onnxruntime's contrib ops (com.microsoft), as in a model saved after onnxruntime optimised it
  FusedConv: windowed(1),
  FusedMatMul: (n) => {
    const t = (s: number[], on: boolean) => (on && s.length >= 2 ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);
    n.set(matmulShape(t(n.shapeOf(0), n.int('transA', 0) === 1), t(n.shapeOf(1), n.int('transB', 0) === 1)));
  },
  FusedGemm: (n) => {
    const [a, b] = [n.shapeOf(0), n.shapeOf(1)];
    n.set([n.int('transA', 0) ? a[1]! : a[0]!, n.int('transB', 0) ? b[0]! : b[1]!]);
  },
  SkipLayerNormalization: (n) => {
    const x = n.shapeOf(0);
    n.set(x, undefined, 0);
    n.set([...x.slice(0, -1), 1], undefined, 1);
    n.set([...x.slice(0, -1), 1], undefined, 2);
    n.set(x, undefined, 3);
  },
  QLinearAdd: (n) => n.set(broadcast(n.shapeOf(0), n.shapeOf(3), 'QLinearAdd')),
  QLinearMul: (n) => n.set(broadcast(n.shapeOf(0), n.shapeOf(3), 'QLinearMul')),
  QLinearGlobalAveragePool: (n) => {
    const x = n.shapeOf(0);
    n.set(n.int('channels_last', 0) ? [x[0]!, ...x.slice(1, -1).map(() => 1), x[x.length - 1]!] : [x[0]!, x[1]!, ...x.slice(2).map(() => 1)]);
  },
  Attention: (n) => {
    const x = n.shapeOf(0);
    const w = n.shapeOf(1);
    const v = n.ints('qkv_hidden_sizes')?.[2] ?? w[1]! / 3;
    n.set([...x.slice(0, -1), v], undefined, 0);
  },
  // gathers (the scatters keep their data's shape: SHAPE_PRESERVING)
  GatherElements: (n) => n.set(n.shapeOf(1)),
  GatherND: (n) => {
    const data = n.shapeOf(0);
    const idx = n.shapeOf(1);
    const b = n.int('batch_dims', 0);
    n.set([...idx.slice(0, -1), ...data.slice(b + idx[idx.length - 1]!)]);
  },
  OneHot: (n) => {
    const idx = n.shapeOf(0);
    const depth = n.valueOf(1)?.[0];
    if (depth === undefined) throw new Error('depth is not constant');
    const a = axisOf(n.int('axis', -1), idx.length + 1);
    n.set([...idx.slice(0, a), depth, ...idx.slice(a)]);
  },
  // reductions
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL2: reduce,
  ArgMax: reduce,
  ArgMin: reduce,
  ReduceL1: reduce,
  ReduceLogSum: reduce,
  ReduceLogSumExp: reduce,
  ReduceSumSquare: reduce,
  GlobalLpPool: (n) => {
    const x = n.shapeOf(0);
    n.set([x[0]!, x[1]!, ...x.slice(2).map(() => 1)]);
  },
  GridSample: (n) => {
    const x = n.shapeOf(0);
    const grid = n.shapeOf(1);
    n.set([x[0]!, x[1]!, ...grid.slice(1, -1)]);
  },
  RoiAlign: (n) => {
    const x = n.shapeOf(0);
    const rois = n.shapeOf(1);
    n.set([rois[0]!, x[1]!, n.int('output_height', 1), n.int('output_width', 1)]);
  },
};

/** ops whose output shape depends on the input values: no static shape exists */
const DATA_DEPENDENT = new Set(['NonZero', 'NonMaxSuppression', 'Unique', 'Compress', 'StringSplit']);
/** control flow: the body graphs run a data-dependent number of times */
const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/**
 * Infers a node's outputs with the registered rule for its op. Returns false when no rule exists
 * (the caller reports the op as unsupported); throws a specific reason for the ops no static
 * shape inference can handle.
 */
export function applyShapeRule(n: NodeView): boolean {
  if (DATA_DEPENDENT.has(n.op)) throw new Error(`${n.op}'s output shape depends on the input values, which latencylab does not run; replace it (or cut the model before it) to predict the rest`);
  if (CONTROL_FLOW.has(n.op)) throw new Error(`control flow (${n.op}) runs its body a data-dependent number of times; export the model with static control flow (e.g. torch.onnx with tracing) to predict it`);
  const rule = RULES[n.op];
  if (!rule) return false;
  rule(n);
  return true;
}
