import type { Params } from '../modules/index.js';
import { einsum, RECURRENT_GATES, type EinsumPlan } from '../ir/shape-rules.js';
import type { Kernel } from './kernels.js';

/**
 * Which module predictor answers a kernel, and with which parameters. The modules are square
 * (one `hw`), so a kernel whose shape the module cannot express exactly (48×320 maps, a
 * [1, seq, hidden] tensor for an image-shaped elementwise module) is mapped to the nearest
 * configuration of equal work, `scale` corrects the prediction by the ratio of the true to the
 * mapped work, and `approx` says what was approximated.
 */
export interface ModuleMapping {
  module: string;
  params: Params;
  /** multiply the module's prediction by this (true work / mapped work) */
  scale: number;
  /**
   * the kernel runs the mapped configuration this many times in sequence (a recurrent layer's
   * steps): each costs the prediction less the standalone run's overhead
   */
  repeat?: number;
  approx: string[];
  /** what answers when the device has no trained predictor for `module` (an LSTM's steps as linear products) */
  fallback?: ModuleMapping;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** image-shaped view of any tensor: [n, c, hw·hw] with hw² ≈ the spatial (or sequence) size */
function imageView(s: readonly number[]): { batch: number; c: number; hw: number; scale: number; approx: string[] } {
  let batch = 1;
  let c: number;
  let spatial: number;
  if (s.length === 4) [batch, c, spatial] = [s[0]!, s[1]!, s[2]! * s[3]!];
  else if (s.length >= 2) [c, spatial] = [s[s.length - 1]!, numel(s.slice(0, -1))];
  else [c, spatial] = [1, numel(s)];
  const hw = Math.max(1, Math.round(Math.sqrt(spatial)));
  const approx = hw * hw !== spatial || s.length !== 4 ? [`shape [${s.join(',')}] as ${batch}×${c}×${hw}×${hw}`] : [];
  return { batch, c, hw, scale: (batch * c * spatial) / (batch * c * hw * hw), approx };
}

const ACT_PARAM: Record<string, string> = { Relu: 'relu', Clip: 'relu6', Sigmoid: 'sigmoid', HardSigmoid: 'sigmoid', HardSwish: 'hswish', Gelu: 'gelu', QuickGelu: 'sigmoid' };

/**
 * A 2-D convolution-like kernel (Conv, ConvTranspose) as the square module form sees it: input
 * dims, weight shape, kernel, stride, groups, the input side of equal area, and what that form
 * approximates. Undefined when the shapes are not NCHW with a 4-D weight.
 */
function convLayer(k: Kernel) {
  const x = k.inputShapes[0];
  // the first 4-D constant: a QLinearConv lists scales and zero points before its weight
  const w = k.weightShapes.find((s) => s.length === 4) ?? k.inputShapes[1];
  if (!x || !w || x.length !== 4 || w.length !== 4) return undefined;
  const ints = (name: string) => k.attrs[name] as number[] | undefined;
  const [n, cin, h, wd] = x as [number, number, number, number];
  const kh = w[2]!;
  const stride = ints('strides')?.[0] ?? 1;
  const approx: string[] = [];
  if (w[2] !== w[3]) approx.push(`kernel ${w[2]}×${w[3]} as ${kh}×${kh}`);
  if ((ints('strides') ?? [1, 1]).some((s) => s !== stride)) approx.push('unequal strides');
  if ((ints('dilations') ?? [1, 1]).some((d) => d !== 1)) approx.push('dilated');
  const hw = Math.max(1, Math.round(Math.sqrt(h * wd)));
  if (hw * hw !== h * wd) approx.push(`input ${h}×${wd} as ${hw}×${hw}`);
  return { n, cin, h, wd, w, kh, stride, group: (k.attrs.group as number | undefined) ?? 1, hw, approx };
}

/** what the device's kernels make of shapes the modules cannot express (FusionTable's field) */
export interface MappingOptions {
  flatDepthwise?: 'area' | 'rows';
}

export function mapKernel(k: Kernel, o: MappingOptions = {}): ModuleMapping | undefined {
  const x = k.inputShapes[0];
  const out = k.outputShape;
  const ints = (name: string) => k.attrs[name] as number[] | undefined;
  switch (k.op) {
    case 'Conv':
    case 'FusedConv':
    case 'QLinearConv':
    case 'ConvInteger': {
      const c = convLayer(k);
      if (!c) return undefined;
      const { n, cin, h, wd, w, kh, stride, group, hw, approx } = c;
      if (k.op === 'QLinearConv' || k.op === 'ConvInteger') approx.push('int8 convolution as float32');
      const cout = w[0]!;
      const pads = ints('pads') ?? [0, 0, 0, 0];
      const outTrue = numel(out);
      // FusedConv: a model saved after onnxruntime fused the activation (and a residual Add) in
      const fused = [...(typeof k.attrs.activation === 'string' ? [k.attrs.activation] : []), ...k.fused];
      if (fused.length) approx.push(`fused ${fused.join('+')}`);
      // a patchify convolution (kernel = stride, no padding: ViT's patch embedding) is a matrix
      // product of the patches with the kernel, which is how the runtime runs it
      if (group === 1 && kh === stride && kh > 1 && pads.every((p) => p === 0) && w[2] === w[3] && h % kh === 0 && wd % kh === 0) {
        return { module: 'linear', params: { batch: 1, rows: n * (h / kh) * (wd / kh), in: cin * kh * kh, out: cout }, scale: 1, approx: [`patchify conv ${kh}×${kh}/${stride} as a matrix product`, ...approx] };
      }
      if (group === cin && cout === cin && group > 1) {
        if (o.flatDepthwise === 'rows' && h !== wd) {
          // the W×W square, scaled to the map's rows (outTrue / mapped = output rows / W)
          const mapped = n * cin * Math.ceil(wd / stride) ** 2;
          const rowsApprox = [...approx.filter((a) => !a.startsWith('input ')), `input ${h}×${wd} as ${h} rows of ${wd}×${wd}`];
          return { module: 'dwconv', params: { batch: n, hw: wd, c: cin, k: kh, stride }, scale: outTrue / mapped, approx: rowsApprox };
        }
        const mapped = n * cin * Math.ceil(hw / stride) ** 2;
        return { module: 'dwconv', params: { batch: n, hw, c: cin, k: kh, stride }, scale: outTrue / mapped, approx };
      }
      const padMode = pads.every((p) => p === 0) && kh > 1 ? 'valid' : 'same';
      const oh = padMode === 'valid' ? Math.floor((hw - kh) / stride) + 1 : Math.floor((hw + 2 * Math.floor((kh - 1) / 2) - kh) / stride) + 1;
      const mapped = n * cout * Math.max(1, oh) ** 2;
      return { module: 'conv2d', params: { batch: n, hw, cin, cout, k: kh, stride, groups: group, pad: padMode }, scale: outTrue / mapped, approx };
    }
    case 'ConvTranspose': {
      const c = convLayer(k);
      if (!c) return undefined;
      const { n, cin, h, wd, w, kh, stride, group, hw, approx } = c;
      // the module upsamples by exactly the stride; other paddings change the output by a pixel or two
      if (out[2] !== h * stride || out[3] !== wd * stride) approx.push(`output ${out[2]}×${out[3]} as ${stride}× the input`);
      if (k.fused.length) approx.push(`fused ${k.fused.join('+')}`);
      // its work (a GEMM per input pixel, then col2im) grows with the input area
      return { module: 'convtranspose', params: { batch: n, hw, cin, cout: w[1]! * group, k: kh, stride, groups: group }, scale: (h * wd) / (hw * hw), approx };
    }
    case 'Gemm':
    case 'FusedGemm':
    case 'MatMul':
    case 'FusedMatMul':
    case 'MatMulInteger':
    case 'QLinearMatMul': {
      if (!x) return undefined;
      // the first 2-D constant: a QLinearMatMul lists scales and zero points before its weight
      const w = k.weightShapes.find((s) => s.length === 2);
      if (k.op === 'MatMulInteger' || k.op === 'QLinearMatMul') return withApprox(mapKernel({ ...k, op: 'MatMul', inputShapes: k.op === 'QLinearMatMul' ? k.inputShapes.filter((s) => s.length >= 2) : k.inputShapes }), 'int8 product as float32');
      if (w) {
        const transB = k.op !== 'MatMul' && k.attrs.transB === 1;
        const din = transB ? w[1]! : w[0]!;
        const dout = transB ? w[0]! : w[1]!;
        const rows = numel(x) / din;
        // 2-D (rows = 1 per batch item) is the module's Gemm form; otherwise batch 1 × rows
        const params = x.length === 2 ? { batch: x[0]!, rows: 1, in: din, out: dout } : { batch: 1, rows, in: din, out: dout };
        return { module: 'linear', params, scale: 1, approx: k.fused.length ? [`fused ${k.fused.join('+')}`] : [] };
      }
      const b = k.inputShapes[1];
      if (!b || x.length < 2 || b.length < 2) return undefined;
      // FusedMatMul may transpose either operand's last two dims
      const [ta, tb] = [k.attrs.transA === 1, k.op === 'FusedMatMul' && k.attrs.transB === 1];
      const m = x[x.length - (ta ? 1 : 2)]!;
      const kk = x[x.length - (ta ? 2 : 1)]!;
      const nn = b[b.length - (tb ? 2 : 1)]!;
      const batch = numel(out.slice(0, -2));
      return { module: 'matmul', params: { batch, m, k: kk, n: nn }, scale: 1, approx: k.fused.length ? [`fused ${k.fused.join('+')}`] : [] };
    }
    case 'MaxPool':
    case 'AveragePool': {
      if (!x || x.length !== 4) return undefined;
      const kk = ints('kernel_shape')?.[0] ?? 1;
      const stride = ints('strides')?.[0] ?? 1;
      const v = imageView(x);
      const mapped = v.batch * v.c * (Math.floor((v.hw - kk) / stride) + 1) ** 2;
      if (mapped <= 0) return undefined;
      return { module: k.op === 'MaxPool' ? 'maxpool' : 'avgpool', params: { batch: v.batch, hw: v.hw, c: v.c, k: kk, stride }, scale: numel(out) / mapped, approx: v.approx };
    }
    case 'GlobalAveragePool': {
      if (!x || x.length !== 4) return undefined;
      const v = imageView(x);
      return { module: 'globalavgpool', params: { batch: v.batch, hw: v.hw, c: v.c }, scale: v.scale, approx: v.approx };
    }
    case 'Add':
    case 'Mul':
    case 'Sub':
    case 'Div': {
      // two-activation elementwise ops (residual adds, squeeze-excite scaling) cost like an Add of
      // the output size; one with a constant operand (x + 3 in an unfused hard-swish, a BN-style
      // scale) reads one tensor and writes one, like a unary activation of the output size. The
      // earlier pricing, an Add × 2/3, was 3× too slow on PP-OCRv4 det's 160–320² maps; with the
      // wider module datasets this one is ahead on the choice data over the three bench settings
      // (−1.6 / +1.3 / +7.1 points on t1 / t2 / wasm; reports/models-history.md, sessions 37–38)
      if (k.inputShapes.length !== 2 && !(k.inputShapes.length === 1 && k.weightShapes.length === 1)) return undefined;
      const v = imageView(out);
      const fused = k.fused.length ? [`fused ${k.fused.join('+')}`] : [];
      if (k.inputShapes.length === 1) {
        return { module: 'activation', params: { batch: v.batch, hw: v.hw, c: v.c, act: 'relu' }, scale: v.scale, approx: [...v.approx, `${k.op} with a constant operand as a unary activation`, ...fused] };
      }
      const approx = [...v.approx, ...(k.op !== 'Add' ? [`${k.op} as Add`] : []), ...fused];
      return { module: 'add', params: { batch: v.batch, hw: v.hw, c: v.c }, scale: v.scale, approx };
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN': {
      // each step multiplies [batch, input + hidden] by the gates' [input + hidden, gates · hidden]
      // (onnxruntime projects the inputs of all steps at once, so this counts them a little high)
      const w = k.weightShapes[0];
      const r = k.weightShapes[1];
      if (!x || !w || !r || x.length !== 3 || w.length !== 3 || r.length !== 3) return undefined;
      const batchFirst = k.attrs.layout === 1;
      const [steps, batch] = batchFirst ? [x[1]!, x[0]!] : [x[0]!, x[1]!];
      const perStep: ModuleMapping = { module: 'linear', params: { batch, rows: 1, in: w[2]! + r[2]!, out: w[1]! }, scale: 1, repeat: steps * w[0]!, approx: [`${steps} steps × ${w[0]} direction(s) of a ${batch}×${w[2]! + r[2]!} · ${w[2]! + r[2]!}×${w[1]} product`] };
      // the lstm module; a GRU or plain RNN layer as an LSTM of the same sizes × its share of the gate work
      const gates = RECURRENT_GATES[k.op]!;
      const hidden = r[2]!;
      return {
        module: 'lstm',
        params: { batch, seq: steps, input: w[2]!, hidden, directions: w[0]! },
        scale: gates / 4,
        approx: k.op === 'LSTM' ? [] : [`${k.op} as an LSTM × ${gates}/4`],
        fallback: perStep,
      };
    }
    case 'Einsum': {
      const m = einsumAsMatmul(k);
      return m && { module: 'matmul', params: m, scale: 1, approx: [`Einsum "${k.attrs.equation}" as a batched MatMul`] };
    }
    case 'Concat': {
      if (k.inputShapes.length < 2 || out.length !== 4 || ((k.attrs.axis as number) ?? 0) !== 1) return undefined;
      const inputs = Math.min(4, k.inputShapes.length);
      const v = imageView([out[0]!, Math.round(out[1]! / inputs), out[2]!, out[3]!]);
      const mapped = v.batch * v.c * inputs * v.hw * v.hw;
      const approx = [...v.approx, ...(k.inputShapes.length > 4 || k.inputShapes.some((s) => s[1] !== out[1]! / k.inputShapes.length) ? ['unequal or many inputs'] : [])];
      return { module: 'concat', params: { batch: v.batch, hw: v.hw, c: v.c, inputs }, scale: numel(out) / mapped, approx };
    }
    case 'Softmax': {
      if (!x) return undefined;
      const cols = x[x.length - 1]!;
      const rows = x.length >= 2 ? x[x.length - 2]! : 1;
      return { module: 'softmax', params: { batch: numel(x) / (rows * cols), rows, cols }, scale: 1, approx: [] };
    }
    case 'LayerNormalization':
    case 'SkipLayerNormalization': {
      if (!x) return undefined;
      const hidden = x[x.length - 1]!;
      return { module: 'layernorm', params: { batch: 1, seq: numel(x) / hidden, hidden }, scale: 1, approx: k.op === 'SkipLayerNormalization' ? ['fused Add'] : [] };
    }
    default: {
      const act = ACT_PARAM[k.op];
      if (!act || !x) return undefined;
      const v = imageView(x);
      return { module: 'activation', params: { batch: v.batch, hw: v.hw, c: v.c, act }, scale: v.scale, approx: [...v.approx, ...(k.op === 'HardSigmoid' || k.op === 'QuickGelu' ? [`${k.op} as Sigmoid`] : [])] };
    }
  }
}

function withApprox(m: ModuleMapping | undefined, note: string): ModuleMapping | undefined {
  return m && { ...m, approx: [...m.approx, note] };
}

/**
 * A two-operand Einsum that is a batched matrix product (every label is a batch label in both
 * operands and the output, a row label of the first, a column label of the second, or contracted
 * between them): its batch, m, k, n. Anything else (a trace, a diagonal, a three-way product)
 * is left to the roofline.
 */
function einsumAsMatmul(k: Kernel): { batch: number; m: number; k: number; n: number } | undefined {
  const eq = k.attrs.equation;
  if (typeof eq !== 'string' || k.inputShapes.length + k.weightShapes.length !== 2) return undefined;
  // a constant operand is listed apart from the data one: try both orders
  const orders = k.inputShapes.length === 2 ? [k.inputShapes] : [[...k.inputShapes, ...k.weightShapes], [...k.weightShapes, ...k.inputShapes]];
  let e: EinsumPlan | undefined;
  for (const shapes of orders) {
    try {
      e = einsum(eq, shapes);
      break;
    } catch {
      // labels that do not fit this order
    }
  }
  if (!e) return undefined;
  const [a, b] = e.terms.map((t) => new Set(t.replace('...', ''))) as [Set<string>, Set<string>];
  const out = new Set(e.output.replace('...', ''));
  const size = { batch: numel(e.ellipsis), m: 1, k: 1, n: 1 };
  for (const [label, d] of e.dims) {
    const inA = a.has(label);
    const inB = b.has(label);
    const inOut = out.has(label);
    if (inA && inB && inOut) size.batch *= d;
    else if (inA && inB) size.k *= d;
    else if (inA && inOut) size.m *= d;
    else if (inB && inOut) size.n *= d;
    else return undefined; // summed out of one operand alone
  }
  return size;
}
