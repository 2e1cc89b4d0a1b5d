import { describe, expect, it } from 'vitest';
import ort from '../src/runtimes/ort-node.js';
import { einsum } from '../src/ir/shape-rules.js';
import { modelFromBytes } from '../src/wholemodel/model-file.js';
import { detectKernels, nodeFlops } from '../src/wholemodel/kernels.js';
import { fusionTable } from '../src/wholemodel/fusion.js';
import { mapKernel } from '../src/wholemodel/mapping.js';
import { UserError } from '../src/util/errors.js';
import { GraphBuilder } from '../src/ir/graph.js';
import { toOnnx } from '../src/ir/onnx.js';
import { Rng } from '../src/util/random.js';
import onnxProto from 'onnx-proto';
import { f32, i64, model, node, u8 } from './onnx-build.js';

const { onnx } = onnxProto;
const MS = 'com.microsoft';
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** every node output's shape as onnxruntime computes it by running the model */
async function ortShapes(bytes: Uint8Array, x: number[]): Promise<Map<string, number[]>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  const data = Float32Array.from({ length: prod(x) }, (_, i) => ((i * 37) % 11) / 11 - 0.3);
  const r = await s.run({ x: new ort.Tensor('float32', data, x) });
  await s.release();
  return new Map(Object.entries(r).map(([k, v]) => [k, [...v.dims]]));
}

const CASES: Array<{ name: string; x: number[]; nodes: ReturnType<typeof node>[]; inits: ReturnType<typeof f32>[]; opset?: number }> = [
  {
    // onnxruntime runs recurrent layers sequence-first only (layout 0)
    name: 'LSTM (bidirectional), GRU and RNN',
    x: [7, 2, 5],
    nodes: [
      node('LSTM', ['x', 'W', 'R', 'B'], ['y', 'yh', 'yc'], { hidden_size: 4, direction: 'bidirectional' }),
      node('GRU', ['x', 'Wg', 'Rg'], ['g', 'gh'], { hidden_size: 3, direction: 'reverse' }),
      node('RNN', ['x', 'Wr', 'Rr'], ['r'], { hidden_size: 6 }),
    ],
    inits: [f32('W', [2, 16, 5]), f32('R', [2, 16, 4]), f32('B', [2, 32]), f32('Wg', [1, 9, 5]), f32('Rg', [1, 9, 3]), f32('Wr', [1, 6, 5]), f32('Rr', [1, 6, 6])],
  },
  {
    name: 'Einsum: batched product, implicit output, ellipsis, transpose, reduction',
    x: [2, 3, 4],
    nodes: [
      node('Einsum', ['x', 'E1'], ['e1'], { equation: 'bij,bjk->bik' }),
      node('Einsum', ['x', 'E2'], ['e2'], { equation: 'bij,jk' }),
      node('Einsum', ['x', 'E2'], ['e3'], { equation: '...j,jk->...k' }),
      node('Einsum', ['x'], ['e4'], { equation: 'bij->jib' }),
      node('Einsum', ['x'], ['e5'], { equation: 'bij->b' }),
    ],
    inits: [f32('E1', [2, 4, 6]), f32('E2', [4, 5])],
    opset: 12,
  },
  {
    name: 'TopK, GatherElements, GatherND, ScatterND, ScatterElements, OneHot, CumSum, Trilu',
    x: [3, 8],
    nodes: [
      node('TopK', ['x', 'K'], ['tv', 'ti'], { axis: 1 }),
      node('GatherElements', ['x', 'GI'], ['ge'], { axis: 1 }),
      node('GatherND', ['x', 'NI'], ['gn']),
      node('ScatterND', ['x', 'NI', 'SU'], ['sn']),
      node('ScatterElements', ['x', 'GI', 'SE'], ['se'], { axis: 1 }),
      node('OneHot', ['OI', 'D', 'V'], ['oh']),
      node('CumSum', ['x', 'A'], ['cs']),
      node('Trilu', ['x'], ['tr'], { upper: 0 }),
    ],
    inits: [i64('K', [1], [3]), i64('GI', [3, 2], [0, 1, 2, 3, 4, 5]), i64('NI', [2, 1], [0, 2]), f32('SU', [2, 8]), f32('SE', [3, 2]), i64('OI', [4], [0, 1, 2, 3]), i64('D', [], [6]), f32('V', [2]), i64('A', [], [1])],
    opset: 14,
  },
  {
    name: 'quantized convolution and products (QuantizeLinear → QLinearConv/QLinearMatMul/ConvInteger/MatMulInteger → DequantizeLinear)',
    x: [1, 4, 9, 9],
    nodes: [
      node('QuantizeLinear', ['x', 's', 'z'], ['q']),
      node('QLinearConv', ['q', 's', 'z', 'Wq', 's', 'z', 's', 'z'], ['qc'], { pads: [1, 1, 1, 1], strides: [2, 2] }),
      node('ConvInteger', ['q', 'Wq'], ['ci']),
      node('DequantizeLinear', ['qc', 's', 'z'], ['dq']),
      node('QLinearMatMul', ['q', 's', 'z', 'Mq', 's', 'z', 's', 'z'], ['qm']),
      node('MatMulInteger', ['q', 'Mq'], ['mi']),
      node('DynamicQuantizeLinear', ['x'], ['dy', 'dys', 'dyz']),
    ],
    inits: [f32('s', [], 0.05), u8('z', [], 128), u8('Wq', [6, 4, 3, 3]), u8('Mq', [9, 5])],
    opset: 13,
  },
  {
    name: 'same-padded pools and transposed convolution, LpPool, GlobalLpPool, GridSample, RoiAlign, reductions, shape-preserving ops',
    x: [1, 2, 7, 9],
    nodes: [
      node('MaxPool', ['x'], ['mp'], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }),
      node('ConvTranspose', ['x', 'CT'], ['ct'], { strides: [2, 2], auto_pad: 'SAME_UPPER' }),
      node('LpPool', ['x'], ['lp'], { kernel_shape: [2, 3], p: 2 }),
      node('GlobalLpPool', ['x'], ['glp']),
      node('GridSample', ['x', 'G'], ['gs']),
      node('RoiAlign', ['x', 'RO', 'RB'], ['ra'], { output_height: 3, output_width: 2 }),
      node('ReduceL1', ['x'], ['rl1'], { axes: [2, 3] }),
      node('ReduceLogSumExp', ['x'], ['rlse'], { axes: [1], keepdims: 0 }),
      node('ReduceSumSquare', ['x'], ['rss']),
      node('Hardmax', ['x'], ['hm']),
      node('Celu', ['x'], ['ce']),
      node('Softsign', ['x'], ['ss']),
      node('IsNaN', ['x'], ['nan']),
      node('MeanVarianceNormalization', ['x'], ['mvn']),
      node('EyeLike', ['E'], ['eye']),
    ],
    inits: [f32('CT', [2, 3, 3, 3]), f32('G', [1, 4, 5, 2]), f32('RO', [3, 4], 1), i64('RB', [3], [0, 0, 0]), f32('E', [3, 4])],
    opset: 16,
  },
  {
    name: 'opset 18: GroupNormalization, reductions with their axes as an input',
    x: [1, 4, 3, 5],
    nodes: [
      node('GroupNormalization', ['x', 'GS', 'GB'], ['gn'], { num_groups: 2 }),
      node('ReduceL1', ['x', 'AX'], ['r1']),
      node('ReduceMean', ['x', 'AX'], ['rm'], { keepdims: 0 }),
      node('ReduceLogSum', ['x'], ['rls']),
    ],
    inits: [f32('GS', [2], 1), f32('GB', [2]), i64('AX', [2], [1, -1])],
    opset: 18,
  },
  {
    name: "onnxruntime's contrib ops (a model saved after it optimised): FusedConv, QLinearAdd, QLinearGlobalAveragePool, QLinearSigmoid",
    x: [1, 3, 8, 8],
    nodes: [
      node('FusedConv', ['x', 'W', 'B'], ['fc'], { pads: [1, 1, 1, 1], activation: 'Relu' }, MS),
      node('QuantizeLinear', ['x', 's', 'z'], ['q']),
      node('QLinearAdd', ['q', 's', 'z', 'q', 's', 'z', 's', 'z'], ['qa'], {}, MS),
      node('QLinearGlobalAveragePool', ['qa', 's', 'z', 's', 'z'], ['qg'], {}, MS),
      node('QLinearSigmoid', ['q', 's', 'z', 's', 'z'], ['qs'], {}, MS),
    ],
    inits: [f32('W', [6, 3, 3, 3]), f32('B', [6]), f32('s', [], 0.05), u8('z', [], 128)],
    opset: 13,
  },
  {
    name: "onnxruntime's contrib ops: FusedMatMul (transposed), FusedGemm, SkipLayerNormalization, BiasGelu, Attention",
    x: [2, 5, 8],
    nodes: [
      node('FusedMatMul', ['x', 'M'], ['fm'], { transB: 1, alpha: 0.5 }, MS),
      node('Reshape', ['x', 'R2'], ['x2']),
      node('FusedGemm', ['x2', 'G', 'GB'], ['fg'], { transB: 1, activation: 'Relu' }, MS),
      node('SkipLayerNormalization', ['x', 'x', 'LG', 'LB'], ['sl'], { epsilon: 1e-5 }, MS),
      node('BiasGelu', ['x', 'LB'], ['bg'], {}, MS),
      node('Attention', ['x', 'AW', 'AB'], ['at'], { num_heads: 2 }, MS),
    ],
    inits: [f32('M', [2, 6, 8]), i64('R2', [2], [10, 8]), f32('G', [3, 8]), f32('GB', [3]), f32('LG', [8], 1), f32('LB', [8]), f32('AW', [8, 24]), f32('AB', [24])],
    opset: 13,
  },
];

describe('shape inference beyond the core ops agrees with onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = model(c.x, c.nodes, c.inits, c.opset);
      const truth = await ortShapes(bytes, c.x);
      const mf = modelFromBytes(bytes, 'case.onnx');
      expect(truth.size).toBe(new Set(c.nodes.flatMap((n) => n.output ?? [])).size);
      for (const [name, shape] of truth) expect(mf.imported.shapes.get(name), name).toEqual(shape);
    });
  }

  it('counts the multiply-adds of recurrent layers, Einsum and integer products', () => {
    const mf = modelFromBytes(model(CASES[0]!.x, CASES[0]!.nodes, CASES[0]!.inits), 'rnn.onnx').imported;
    const lstm = mf.nodes.find((n) => n.op === 'LSTM')!;
    // 7 steps × batch 2 × 2 directions × 4 gates × 4 hidden × (5 inputs + 4 hidden), 2 FLOPs a MAC
    expect(nodeFlops(mf, lstm)).toBe(2 * 7 * 2 * 2 * 16 * 9);
    const e = modelFromBytes(model(CASES[1]!.x, CASES[1]!.nodes, CASES[1]!.inits, 12), 'e.onnx').imported;
    expect(nodeFlops(e, e.nodes[0]!)).toBe(2 * 2 * 3 * 4 * 6);
    expect(einsum('ij,jk', [[3, 4], [4, 5]])).toMatchObject({ shape: [3, 5], iterations: 60 });
    expect(einsum('...ij,...jk->...ik', [[2, 1, 3, 4], [5, 4, 6]])).toMatchObject({ shape: [2, 5, 3, 6], iterations: 2 * 5 * 3 * 4 * 6 });
    expect(() => einsum('ij,jk->ik', [[3, 4], [5, 6]])).toThrow(/label "j" is 4 in one operand and 5/);
    const q = modelFromBytes(model(CASES[3]!.x, CASES[3]!.nodes, CASES[3]!.inits, 13), 'q.onnx').imported;
    const qc = q.nodes.find((n) => n.op === 'QLinearConv')!;
    expect(nodeFlops(q, qc)).toBe(2 * 6 * 5 * 5 * 4 * 9);
    // every compute node becomes a kernel (none is mistaken for a free or folded one)
    const kernels = detectKernels(q, fusionTable('ort-cpu'));
    expect(kernels.filter((k) => k.cls === 'compute').map((k) => k.op).sort()).toEqual(['ConvInteger', 'DequantizeLinear', 'DynamicQuantizeLinear', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear']);
  });

  it("maps onnxruntime's fused contrib ops to the module predictors of their plain forms", () => {
    const kernelsOf = (i: number) => detectKernels(modelFromBytes(model(CASES[i]!.x, CASES[i]!.nodes, CASES[i]!.inits, 13), 'c.onnx').imported, fusionTable('ort-cpu'));
    const conv = kernelsOf(CASES.findIndex((c) => c.name.includes('FusedConv'))).find((k) => k.op === 'FusedConv')!;
    expect(mapKernel(conv)).toMatchObject({ module: 'conv2d', params: { cin: 3, cout: 6, k: 3, hw: 8 }, approx: ['fused Relu'] });
    const gemm = kernelsOf(CASES.findIndex((c) => c.name.includes('FusedGemm'))).find((k) => k.op === 'FusedGemm')!;
    expect(mapKernel(gemm)).toMatchObject({ module: 'linear', params: { batch: 10, rows: 1, in: 8, out: 3 } });
  });

  it('prices a depthwise convolution on a flat map per device: equal-area square (ort-cpu) or rows of the W×W square (ort-wasm)', () => {
    const flat = (h: number, w: number, stride: number) => {
      const b = new GraphBuilder('flat-dw', 1);
      b.output(b.conv(b.input('x', [1, 16, h, w]), { cout: 16, k: 5, stride, groups: 16 }));
      const m = modelFromBytes(toOnnx(b.build()), 'flat.onnx').imported;
      return detectKernels(m, fusionTable('ort-wasm')).find((k) => k.op === 'Conv')!;
    };
    const k = flat(2, 96, 1);
    expect(mapKernel(k, fusionTable('ort-cpu'))).toMatchObject({ module: 'dwconv', params: { hw: 14, c: 16, k: 5, stride: 1 }, scale: 192 / 196, approx: ['input 2×96 as 14×14'] });
    expect(mapKernel(k, fusionTable('ort-wasm'))).toMatchObject({ module: 'dwconv', params: { hw: 96, c: 16, k: 5, stride: 1 }, scale: 2 / 96, approx: ['input 2×96 as 2 rows of 96×96'] });
    // strided: output rows over output width
    expect(mapKernel(flat(6, 80, 2), fusionTable('ort-wasm'))).toMatchObject({ params: { hw: 80, stride: 2 }, scale: 3 / 40 });
    // a square map is the same either way
    expect(mapKernel(flat(20, 20, 1), fusionTable('ort-wasm'))).toEqual(mapKernel(flat(20, 20, 1), fusionTable('ort-cpu')));
  });

  it('fuzz: flipped bytes and random attribute values give a UserError or valid shapes, never a crash or garbage', () => {
    const rng = new Rng(5);
    let errors = 0;
    let valid = 0;
    const check = (bytes: Uint8Array) => {
      try {
        const m = modelFromBytes(bytes, 'fuzz.onnx').imported;
        for (const s of m.shapes.values()) expect(s.every((d) => Number.isSafeInteger(d) && d >= 0), `[${s}]`).toBe(true);
        for (const k of detectKernels(m, fusionTable('ort-cpu'))) expect(Number.isFinite(k.flops) && Number.isFinite(k.bytes)).toBe(true);
        valid++;
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(UserError);
        errors++;
      }
    };
    for (const c of CASES) {
      const base = model(c.x, c.nodes, c.inits, c.opset);
      for (let i = 0; i < 60; i++) {
        const bytes = Uint8Array.from(base);
        for (let k = 0; k < 1 + (i % 3); k++) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
        check(bytes);
      }
      // every int / ints attribute of one node set to random values, negative ones included
      for (let i = 0; i < 40; i++) {
        const nodes = c.nodes.map((n) => onnx.NodeProto.create({ ...n, attribute: [...(n.attribute ?? [])] }));
        const n = nodes[rng.int(0, nodes.length - 1)]!;
        n.attribute = n.attribute!.map((a) => ({ ...a, i: rng.int(-3, 9), ints: (a.ints ?? []).map(() => rng.int(-3, 9)) }));
        check(model(c.x, nodes, c.inits, c.opset));
      }
    }
    expect(errors).toBeGreaterThan(20);
    expect(valid).toBeGreaterThan(20);
  });

  it('maps recurrent layers to the lstm module (their per-step product where it is not trained), Einsum products to matmul, integer convolutions and products to their float modules', () => {
    const kernelsOf = (c: (typeof CASES)[number]) => detectKernels(modelFromBytes(model(c.x, c.nodes, c.inits, c.opset), 'c.onnx').imported, fusionTable('ort-cpu'));
    const rnn = kernelsOf(CASES[0]!);
    // LSTM: the lstm module; without one, 7 steps × 2 directions of [2, 5 + 4] · [9, 16] by the linear one
    expect(mapKernel(rnn.find((k) => k.op === 'LSTM')!)).toMatchObject({ module: 'lstm', params: { batch: 2, seq: 7, input: 5, hidden: 4, directions: 2 }, scale: 1, fallback: { module: 'linear', params: { batch: 2, rows: 1, in: 9, out: 16 }, repeat: 14 } });
    expect(mapKernel(rnn.find((k) => k.op === 'GRU')!)).toMatchObject({ module: 'lstm', params: { seq: 7, hidden: 3, directions: 1 }, scale: 3 / 4, approx: ['GRU as an LSTM × 3/4'], fallback: { module: 'linear', params: { in: 8, out: 9 }, repeat: 7 } });
    const e = kernelsOf(CASES[1]!);
    expect(mapKernel(e.find((k) => k.name.endsWith('e1'))!)).toMatchObject({ module: 'matmul', params: { batch: 2, m: 3, k: 4, n: 6 } });
    // a constant operand listed apart from the data one: bij,jk → batch b, rows i, contracted j
    expect(mapKernel(e.find((k) => k.name.endsWith('e2'))!)).toMatchObject({ module: 'matmul', params: { batch: 1, m: 6, k: 4, n: 5 } });
    expect(mapKernel(e.find((k) => k.name.endsWith('e5'))!)).toBeUndefined(); // a reduction: roofline
    const q = kernelsOf(CASES[3]!);
    expect(mapKernel(q.find((k) => k.op === 'QLinearConv')!)).toMatchObject({ module: 'conv2d', params: { cin: 4, cout: 6, k: 3, stride: 2 }, approx: expect.arrayContaining(['int8 convolution as float32']) });
    expect(mapKernel(q.find((k) => k.op === 'QLinearMatMul')!)).toMatchObject({ module: 'linear', params: { in: 9, out: 5 }, approx: expect.arrayContaining(['int8 product as float32']) });
  });

  it('data-dependent shapes and control flow are refused with the reason and the node', () => {
    const nz = model([3, 4], [node('NonZero', ['x'], ['nz'])], []);
    expect(() => modelFromBytes(nz, 'nz.onnx')).toThrow(UserError);
    expect(() => modelFromBytes(nz, 'nz.onnx')).toThrow(/nz\.onnx: graph\.node\[0\]: .*NonZero's output shape depends on the input values/);
    const loop = model([3, 4], [node('If', ['x'], ['y'])], []);
    expect(() => modelFromBytes(loop, 'if.onnx')).toThrow(/if\.onnx: graph\.node\[0\]: .*control flow \(If\)/);
  });
});
