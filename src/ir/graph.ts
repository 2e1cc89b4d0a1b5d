import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';

/**
 * A tiny DNN graph IR that uses ONNX op names and NCHW semantics.
 *
 * Modules are written once against `GraphBuilder`; the same graph is then emitted as an ONNX
 * ModelProto (for onnxruntime-node / -web) and interpreted with tfjs ops (for the tfjs device).
 * Shapes are inferred while building, so an impossible configuration (kernel larger than the
 * padded input, channels not divisible by groups, …) fails at build time with a clear message,
 * and the analytic features (MACs, params, bytes) come for free from the same walk.
 */
export type Shape = number[];

export interface Tensor {
  readonly name: string;
  readonly shape: Shape;
}

export type AttrValue = number | number[] | string;

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface Initializer {
  name: string;
  shape: Shape;
  /** float32 weights, or int64 values (e.g. Reshape's target shape) */
  data: Float32Array | BigInt64Array;
}

export interface GraphCost {
  /** multiply-accumulates of conv / matmul / gemm */
  macs: number;
  /** all floating point operations: 2 per MAC plus elementwise / reduction work */
  flops: number;
  /** trainable parameter count (float initialisers) */
  params: number;
  inputBytes: number;
  outputBytes: number;
  weightBytes: number;
  /** bytes of every intermediate tensor written once (a proxy for memory traffic) */
  activationBytes: number;
  /** FLOPs per byte of inputs, outputs and weights (roofline arithmetic intensity) */
  intensity: number;
  nodes: number;
}

export interface Graph {
  name: string;
  inputs: Tensor[];
  /** inputs holding int64 token ids (every other input is float32) */
  int64Inputs?: string[];
  outputs: Tensor[];
  nodes: Node[];
  initializers: Initializer[];
  /** shape of every tensor, by name */
  shapes: Map<string, Shape>;
  cost: GraphCost;
}

export type Padding = 'same' | 'valid' | number;
export type Activation = 'none' | 'relu' | 'relu6' | 'sigmoid' | 'hswish' | 'gelu';
export const ACTIVATIONS: Activation[] = ['relu', 'relu6', 'sigmoid', 'hswish', 'gelu'];

const F32 = 4;
const numel = (s: Shape) => s.reduce((a, b) => a * b, 1);

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly inits: Initializer[] = [];
  private readonly inputs: Tensor[] = [];
  private readonly int64Inputs: string[] = [];
  private readonly outputs: Tensor[] = [];
  private readonly shapes = new Map<string, Shape>();
  private readonly rng: Rng;
  private counter = 0;
  private macs = 0;
  private extraFlops = 0;

  private paramCount = 0;

  /**
   * @param withWeights false builds shapes and costs only (empty weight arrays): used to validate
   *   and featurise thousands of planned configurations without allocating their weights.
   */
  constructor(readonly name: string, seed = 1, private readonly withWeights = true) {
    this.rng = new Rng(seed);
  }

  input(name: string, shape: Shape): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 1) throw new UserError(`input shape must be positive integers, got [${shape}]`, name);
    }
    const t = this.tensor(name, shape);
    this.inputs.push(t);
    return t;
  }

  /** an int64 input of token ids (e.g. BERT's input_ids); runtimes feed zeros */
  tokenInput(name: string, shape: Shape): Tensor {
    const t = this.input(name, shape);
    this.int64Inputs.push(name);
    return t;
  }

  output(t: Tensor): void {
    this.outputs.push(t);
  }

  // ---------------------------------------------------------------- convolution & pooling

  conv(
    x: Tensor,
    o: { cout: number; k: number; stride?: number | readonly [number, number]; pad?: Padding; groups?: number; dilation?: number; bias?: boolean },
  ): Tensor {
    const [n, cin, h, w] = this.rank4(x, 'conv');
    // [height, width] strides: text-line models halve the height only (2×1, as PP-OCR's backbones)
    const [sh, sw] = typeof o.stride === 'object' ? o.stride : [o.stride ?? 1, o.stride ?? 1];
    const groups = o.groups ?? 1;
    const dil = o.dilation ?? 1;
    checkGroups(cin, o.cout, groups);
    const pads = this.pads(o.pad ?? 'same', o.k, dil);
    const oh = outDim(h, o.k, sh, pads, dil, 'kernel');
    const ow = outDim(w, o.k, sw, pads, dil, 'kernel');
    const wt = this.weight([o.cout, cin / groups, o.k, o.k], (cin / groups) * o.k * o.k);
    const ins = [x.name, wt];
    if (o.bias ?? true) ins.push(this.weight([o.cout], 0));
    const y = this.emit('Conv', ins, [n, o.cout, oh, ow], {
      kernel_shape: [o.k, o.k],
      strides: [sh, sw],
      pads: [pads, pads, pads, pads],
      dilations: [dil, dil],
      group: groups,
    });
    this.macs += n * o.cout * oh * ow * (cin / groups) * o.k * o.k;
    return y;
  }

  /**
   * Transposed convolution that upsamples by exactly `stride` (the decoder form: 2×2/2, 4×4/2 with
   * padding 1, 3×3/2 with padding 1 and output_padding 1): pads p = ⌈(k − s)/2⌉ and output_padding
   * 2p − (k − s), which ONNX allows only below the stride — so stride 1 needs an odd kernel.
   */
  convTranspose(x: Tensor, o: { cout: number; k: number; stride: number; groups?: number; bias?: boolean }): Tensor {
    const [n, cin, h, w] = this.rank4(x, 'convTranspose');
    const { k, stride } = o;
    const groups = o.groups ?? 1;
    if (!Number.isInteger(stride) || stride < 1) throw new UserError(`stride must be an integer >= 1, got ${stride}`, 'stride');
    if (!Number.isInteger(k) || k < 1) throw new UserError(`kernel must be an integer >= 1, got ${k}`, 'kernel');
    checkGroups(cin, o.cout, groups);
    const pad = Math.max(0, Math.ceil((k - stride) / 2));
    const outPad = 2 * pad - (k - stride);
    if (outPad >= stride) throw new UserError(`a ${k}×${k} kernel cannot upsample by exactly ${stride} (output_padding ${outPad} must be below the stride): use an odd kernel with stride 1`, 'kernel');
    const wt = this.weight([cin, o.cout / groups, k, k], (cin / groups) * k * k);
    const ins = [x.name, wt];
    if (o.bias ?? true) ins.push(this.weight([o.cout], 0));
    const y = this.emit('ConvTranspose', ins, [n, o.cout, h * stride, w * stride], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      output_padding: [outPad, outPad],
      group: groups,
    });
    // every input pixel is scattered through the kernel into the output channels of its group
    this.macs += n * cin * h * w * (o.cout / groups) * k * k;
    return y;
  }

  maxPool(x: Tensor, k: number, stride: number, pad: Padding = 'valid'): Tensor {
    return this.pool('MaxPool', x, k, stride, pad);
  }

  avgPool(x: Tensor, k: number, stride: number, pad: Padding = 'valid'): Tensor {
    return this.pool('AveragePool', x, k, stride, pad);
  }

  globalAvgPool(x: Tensor): Tensor {
    const [n, c, h, w] = this.rank4(x, 'GlobalAveragePool');
    this.extraFlops += n * c * h * w;
    return this.emit('GlobalAveragePool', [x.name], [n, c, 1, 1], {});
  }

  // ---------------------------------------------------------------- normalisation & activations

  batchNorm(x: Tensor): Tensor {
    const c = this.rank4(x, 'BatchNormalization')[1];
    const scale = this.constant([c], () => 1 + 0.1 * this.rng.normal());
    const bias = this.constant([c], () => 0.1 * this.rng.normal());
    const m = this.constant([c], () => 0.1 * this.rng.normal());
    const v = this.constant([c], () => 1 + 0.1 * this.rng.next());
    this.extraFlops += 2 * numel(x.shape);
    return this.emit('BatchNormalization', [x.name, scale, bias, m, v], x.shape, { epsilon: 1e-5 });
  }

  layerNorm(x: Tensor): Tensor {
    const d = x.shape[x.shape.length - 1]!;
    const scale = this.constant([d], () => 1);
    const bias = this.constant([d], () => 0);
    this.extraFlops += 8 * numel(x.shape);
    return this.emit('LayerNormalization', [x.name, scale, bias], x.shape, { axis: -1, epsilon: 1e-5 });
  }

  act(x: Tensor, kind: Activation): Tensor {
    switch (kind) {
      case 'none':
        return x;
      case 'relu':
        return this.unary('Relu', x, {});
      case 'relu6':
        return this.unary('Clip', x, {}, [this.scalar(0), this.scalar(6)]);
      case 'sigmoid':
        return this.unary('Sigmoid', x, {});
      case 'hswish':
        return this.unary('HardSwish', x, {});
      case 'gelu': {
        // Exact GELU as ONNX writes it before opset 20: 0.5·x·(1+erf(x/√2)); ORT fuses the pattern.
        const s = this.binary('Div', x, this.constTensor(Math.SQRT2));
        const e = this.unary('Erf', s, {});
        const p = this.binary('Add', e, this.constTensor(1));
        const m = this.binary('Mul', x, p);
        return this.binary('Mul', m, this.constTensor(0.5));
      }
      default:
        throw new UserError(`unknown activation '${kind as string}', expected one of ${ACTIVATIONS.join(', ')}`, 'activation');
    }
  }

  /** x · hard-sigmoid(gate): MobileNetV3's squeeze-excite scaling */
  hardSigmoid(x: Tensor): Tensor {
    return this.unary('HardSigmoid', x, { alpha: 1 / 6, beta: 0.5 });
  }

  /**
   * hard-swish spelled out as Paddle2ONNX (PP-OCR) and PyTorch before opset 14 export it:
   * x · Clip(x + 3, 0, 6) / 6 — four elementwise nodes that onnxruntime runs one by one
   */
  hardSwishDecomposed(x: Tensor): Tensor {
    const gate = this.unary('Clip', this.binary('Add', x, this.constTensor(3)), {}, [this.scalar(0), this.scalar(6)]);
    return this.binary('Div', this.binary('Mul', x, gate), this.constTensor(6));
  }

  softmax(x: Tensor, axis = -1): Tensor {
    this.extraFlops += 5 * numel(x.shape);
    return this.emit('Softmax', [x.name], x.shape, { axis });
  }

  // ---------------------------------------------------------------- elementwise & shape

  add(a: Tensor, b: Tensor): Tensor {
    return this.binary('Add', a, b);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary('Mul', a, b);
  }

  concat(xs: Tensor[], axis: number): Tensor {
    const r = xs[0]!.shape.length;
    const ax = axis < 0 ? axis + r : axis;
    const shape = [...xs[0]!.shape];
    shape[ax] = 0;
    for (const t of xs) {
      if (t.shape.length !== r || t.shape.some((d, i) => i !== ax && d !== xs[0]!.shape[i])) {
        throw new UserError(`concat inputs must match except on axis ${axis}: [${xs[0]!.shape}] vs [${t.shape}]`, 'concat');
      }
      shape[ax]! += t.shape[ax]!;
    }
    return this.emit('Concat', xs.map((t) => t.name), shape, { axis: ax });
  }

  reshape(x: Tensor, shape: Shape): Tensor {
    if (numel(shape) !== numel(x.shape)) throw new UserError(`cannot reshape [${x.shape}] to [${shape}]`, 'reshape');
    const s = this.fresh('shape');
    this.inits.push({ name: s, shape: [shape.length], data: BigInt64Array.from(shape.map(BigInt)) });
    return this.emit('Reshape', [x.name, s], shape, {});
  }

  /** splits along `axis` into parts of the given sizes (ShuffleNetV2's channel split) */
  split(x: Tensor, sizes: number[], axis: number): Tensor[] {
    const ax = axis < 0 ? axis + x.shape.length : axis;
    if (sizes.reduce((a, b) => a + b, 0) !== x.shape[ax]) throw new UserError(`split sizes [${sizes}] do not add up to dim ${ax} of [${x.shape}]`, 'split');
    const sz = this.fresh('split_sizes');
    this.inits.push({ name: sz, shape: [sizes.length], data: BigInt64Array.from(sizes.map(BigInt)) });
    const outs = sizes.map((d) => this.tensor(this.fresh('split'), x.shape.map((v, i) => (i === ax ? d : v))));
    this.nodes.push({ op: 'Split', inputs: [x.name, sz], outputs: outs.map((t) => t.name), attrs: { axis: ax } });
    return outs;
  }

  /** rows of a [vocab, dim] embedding table picked by int64 ids [..., seq] → [..., seq, dim] */
  embedding(ids: Tensor, vocab: number, dim: number): Tensor {
    const table = this.weight([vocab, dim], dim);
    return this.emit('Gather', [table, ids.name], [...ids.shape, dim], { axis: 0 });
  }

  /** a learned tensor of the given shape (e.g. position embeddings), usable as an operand */
  parameter(shape: Shape): Tensor {
    return { name: this.weight(shape, shape[shape.length - 1] ?? 1), shape };
  }

  transpose(x: Tensor, perm: number[]): Tensor {
    return this.emit('Transpose', [x.name], perm.map((p) => x.shape[p]!), { perm });
  }

  // ---------------------------------------------------------------- dense layers

  /** x[..., in] · W[in, out] (+ b): a linear layer over the last axis, any leading batch dims. */
  linear(x: Tensor, out: number, bias = true): Tensor {
    const din = x.shape[x.shape.length - 1]!;
    const w = this.weight([din, out], din);
    const shape = [...x.shape.slice(0, -1), out];
    this.macs += numel(x.shape.slice(0, -1)) * din * out;
    if (x.shape.length === 2 && bias) {
      // 2-D with bias is exactly ONNX Gemm, which ORT runs as one kernel.
      return this.emit('Gemm', [x.name, w, this.weight([out], 0)], shape, {});
    }
    const y = this.emit('MatMul', [x.name, w], shape, {});
    return bias ? this.binary('Add', y, { name: this.weight([out], 0), shape: [out] }) : y;
  }

  /** batched a[..., m, k] · b[..., k, n] of two activations */
  matmul(a: Tensor, b: Tensor): Tensor {
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2 || a.shape[ra - 1] !== b.shape[rb - 2]) {
      throw new UserError(`matmul shapes do not agree: [${a.shape}] · [${b.shape}]`, 'matmul');
    }
    const batch = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
    const shape = [...batch, a.shape[ra - 2]!, b.shape[rb - 1]!];
    this.macs += numel(batch) * a.shape[ra - 2]! * a.shape[ra - 1]! * b.shape[rb - 1]!;
    return this.emit('MatMul', [a.name, b.name], shape, {});
  }

  /**
   * ONNX LSTM over x [seq, batch, input] (sequence first, as onnxruntime runs it), gates in ONNX's
   * order (input, output, forget, cell); output Y [seq, directions, batch, hidden].
   */
  lstm(x: Tensor, hidden: number, directions: 1 | 2 = 1): Tensor {
    if (x.shape.length !== 3) throw new UserError(`lstm needs a [seq, batch, input] tensor, got shape [${x.shape}]`, 'lstm');
    const [seq, batch, input] = x.shape as [number, number, number];
    const w = this.weight([directions, 4 * hidden, input], input);
    const r = this.weight([directions, 4 * hidden, hidden], hidden);
    const b = this.weight([directions, 8 * hidden], 0);
    this.macs += seq * batch * directions * 4 * hidden * (input + hidden);
    // gate activations and the cell update: ~10 elementwise operations per hidden unit and step
    this.extraFlops += 10 * seq * batch * directions * hidden;
    return this.emit('LSTM', [x.name, w, r, b], [seq, directions, batch, hidden], { hidden_size: hidden, direction: directions === 2 ? 'bidirectional' : 'forward' });
  }

  constTensor(v: number): Tensor {
    return { name: this.scalar(v), shape: [] };
  }

  build(): Graph {
    if (this.outputs.length === 0) throw new Error(`graph ${this.name} has no output`);
    const inputBytes = this.inputs.reduce((s, t) => s + numel(t.shape) * F32, 0);
    const outputBytes = this.outputs.reduce((s, t) => s + numel(t.shape) * F32, 0);
    const params = this.paramCount;
    let activationBytes = 0;
    for (const n of this.nodes) for (const o of n.outputs) activationBytes += numel(this.shapes.get(o)!) * F32;
    return {
      name: this.name,
      inputs: this.inputs,
      ...(this.int64Inputs.length ? { int64Inputs: [...this.int64Inputs] } : {}),
      outputs: this.outputs,
      nodes: this.nodes,
      initializers: this.inits,
      shapes: this.shapes,
      cost: {
        macs: this.macs,
        flops: 2 * this.macs + this.extraFlops,
        params,
        inputBytes,
        outputBytes,
        weightBytes: params * F32,
        activationBytes,
        intensity: (2 * this.macs + this.extraFlops) / Math.max(1, inputBytes + outputBytes + params * F32),
        nodes: this.nodes.length,
      },
    };
  }

  // ---------------------------------------------------------------- internals

  private pool(op: 'MaxPool' | 'AveragePool', x: Tensor, k: number, stride: number, pad: Padding): Tensor {
    const [n, c, h, w] = this.rank4(x, op);
    const pads = this.pads(pad, k, 1);
    const oh = outDim(h, k, stride, pads, 1, 'pool kernel');
    const ow = outDim(w, k, stride, pads, 1, 'pool kernel');
    this.extraFlops += n * c * oh * ow * k * k;
    const attrs: Record<string, AttrValue> = { kernel_shape: [k, k], strides: [stride, stride], pads: [pads, pads, pads, pads] };
    if (op === 'AveragePool') attrs.count_include_pad = 0;
    return this.emit(op, [x.name], [n, c, oh, ow], attrs);
  }

  private pads(p: Padding, k: number, dil: number): number {
    if (p === 'valid') return 0;
    if (p === 'same') return Math.floor((dil * (k - 1)) / 2);
    if (!Number.isInteger(p) || p < 0) throw new UserError(`padding must be 'same', 'valid' or an integer >= 0, got ${p}`, 'padding');
    return p;
  }

  private rank4(x: Tensor, op: string): [number, number, number, number] {
    if (x.shape.length !== 4) throw new UserError(`${op} needs an NCHW tensor, got shape [${x.shape}]`, op);
    return x.shape as [number, number, number, number];
  }

  private unary(op: string, x: Tensor, attrs: Record<string, AttrValue>, extra: string[] = []): Tensor {
    this.extraFlops += numel(x.shape);
    return this.emit(op, [x.name, ...extra], x.shape, attrs);
  }

  private binary(op: string, a: Tensor, b: Tensor): Tensor {
    const shape = broadcast(a.shape, b.shape, op);
    this.extraFlops += numel(shape);
    return this.emit(op, [a.name, b.name], shape, {});
  }

  private emit(op: string, inputs: string[], shape: Shape, attrs: Record<string, AttrValue>): Tensor {
    const out = this.tensor(this.fresh(op.toLowerCase()), shape);
    this.nodes.push({ op, inputs, outputs: [out.name], attrs });
    return out;
  }

  private tensor(name: string, shape: Shape): Tensor {
    this.shapes.set(name, shape);
    return { name, shape };
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** He-style random weights (fan-in scaled) so activations stay finite in deep blocks. */
  private weight(shape: Shape, fanIn: number): string {
    const std = fanIn > 0 ? Math.sqrt(2 / fanIn) : 0.01;
    return this.constant(shape, () => std * this.rng.normal());
  }

  private constant(shape: Shape, gen: () => number): string {
    const name = this.fresh('w');
    this.paramCount += numel(shape);
    const data = new Float32Array(this.withWeights ? numel(shape) : 0);
    for (let i = 0; i < data.length; i++) data[i] = gen();
    this.inits.push({ name, shape, data });
    this.shapes.set(name, shape);
    return name;
  }

  private scalar(v: number): string {
    const name = this.fresh('c');
    this.inits.push({ name, shape: [], data: Float32Array.of(v) });
    this.shapes.set(name, []);
    return name;
  }
}

function checkGroups(cin: number, cout: number, groups: number): void {
  if (cin % groups !== 0) throw new UserError(`input channels ${cin} are not divisible by groups ${groups}`, 'groups');
  if (cout % groups !== 0) throw new UserError(`output channels ${cout} are not divisible by groups ${groups}`, 'groups');
}

function outDim(size: number, k: number, stride: number, pad: number, dil: number, what: string): number {
  const eff = dil * (k - 1) + 1;
  if (eff > size + 2 * pad) {
    throw new UserError(`${what} ${k} (dilated ${eff}) is larger than the padded input ${size}+2·${pad}`, 'kernel');
  }
  if (!Number.isInteger(stride) || stride < 1) throw new UserError(`stride must be an integer >= 1, got ${stride}`, 'stride');
  return Math.floor((size + 2 * pad - eff) / stride) + 1;
}

/** numpy-style broadcasting of two shapes */
export function broadcast(a: Shape, b: Shape, op: string): Shape {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new UserError(`cannot broadcast [${a}] with [${b}]`, op);
    out.push(Math.max(x, y));
  }
  return out;
}
