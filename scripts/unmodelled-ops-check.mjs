// How far whole-model prediction is on models whose heavy ops have no module predictor (recurrent
// layers, Einsum, quantized QDQ / QLinear convolutions): they are priced by the per-device
// roofline and flagged; this measures what that costs. Builds six small models node by node,
// then for each runs `latencylab measure <file> --compare --json` against the bench store's
// predictors (3 passes, median; the prediction at the machine state of the measurement).
// Takes real latency figures: run it alone, after `npm run build`, with the bench store in place:
//   node --import tsx scripts/unmodelled-ops-check.mjs [threads]        (~1 min)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { f32, i64, model, node } from '../test/onnx-build.ts';

const T = onnxProto.onnx.TensorProto.DataType;
const threads = process.argv[2] ?? '1';
const i8 = (name, dims) => onnxProto.onnx.TensorProto.create({ name, dims, dataType: T.INT8, int32Data: Array(dims.reduce((a, b) => a * b, 1)).fill(1) });
const u8 = (name) => onnxProto.onnx.TensorProto.create({ name, dims: [], dataType: T.UINT8, int32Data: [128] });
const i8z = (name) => onnxProto.onnx.TensorProto.create({ name, dims: [], dataType: T.INT8, int32Data: [0] });

/**
 * A stack of 3×3 int8 convolutions between a QuantizeLinear and a DequantizeLinear; `layer` writes
 * one layer's nodes from q<i> to q<i+1>: QDQ form (DequantizeLinear → Conv → Relu → QuantizeLinear,
 * which onnxruntime may fuse into QLinearConv) or QOperator form (QLinearConv nodes).
 */
function quantizedConvs(c, hw, layers, layer) {
  const nodes = [node('QuantizeLinear', ['x', 's', 'z'], ['q0'])];
  const inits = [f32('s', [], 0.05), u8('z'), f32('ws', [], 0.01), i8z('wz')];
  for (let i = 0; i < layers; i++) {
    inits.push(i8(`w${i}`, [c, i === 0 ? 3 : c, 3, 3]));
    nodes.push(...layer(i));
  }
  nodes.push(node('DequantizeLinear', [`q${layers}`, 's', 'z'], ['y']));
  return model([1, 3, hw, hw], nodes, inits, 13);
}
const qdqLayer = (i) => [node('DequantizeLinear', [`q${i}`, 's', 'z'], [`d${i}`]), node('DequantizeLinear', [`w${i}`, 'ws', 'wz'], [`dw${i}`]), node('Conv', [`d${i}`, `dw${i}`], [`c${i}`], { pads: [1, 1, 1, 1] }), node('Relu', [`c${i}`], [`r${i}`]), node('QuantizeLinear', [`r${i}`, 's', 'z'], [`q${i + 1}`])];
const qlinearLayer = (i) => [node('QLinearConv', [`q${i}`, 's', 'z', `w${i}`, 'ws', 'wz', 's', 'z'], [`q${i + 1}`], { pads: [1, 1, 1, 1] })];

const MODELS = {
  'LSTM, 64 steps, 128 → 256': model([64, 1, 128], [node('LSTM', ['x', 'W', 'R', 'B'], ['y', 'h', 'c'], { hidden_size: 256 })], [f32('W', [1, 1024, 128], 0.01), f32('R', [1, 1024, 256], 0.01), f32('B', [1, 2048])]),
  'bidirectional LSTM ×2, 80 steps, 256 (a CRNN head)': model([80, 1, 256], [
    node('LSTM', ['x', 'W1', 'R1', 'B1'], ['y1'], { hidden_size: 128, direction: 'bidirectional' }),
    node('Transpose', ['y1'], ['t1'], { perm: [0, 2, 1, 3] }),
    node('Reshape', ['t1', 'S'], ['x2']),
    node('LSTM', ['x2', 'W2', 'R2', 'B2'], ['y2'], { hidden_size: 128, direction: 'bidirectional' }),
  ], [f32('W1', [2, 512, 256], 0.01), f32('R1', [2, 512, 128], 0.01), f32('B1', [2, 1024]), i64('S', [3], [80, 1, 256]), f32('W2', [2, 512, 256], 0.01), f32('R2', [2, 512, 128], 0.01), f32('B2', [2, 1024])]),
  'GRU, 100 steps, 64 → 128': model([100, 1, 64], [node('GRU', ['x', 'W', 'R'], ['y'], { hidden_size: 128 })], [f32('W', [1, 384, 64], 0.01), f32('R', [1, 384, 128], 0.01)]),
  'Einsum attention, 256 × 64': model([1, 256, 64], [
    node('Einsum', ['x', 'x'], ['s'], { equation: 'bqd,bkd->bqk' }),
    node('Softmax', ['s'], ['p'], { axis: -1 }),
    node('Einsum', ['p', 'x'], ['y'], { equation: 'bqk,bkd->bqd' }),
  ], [], 12),
  'QDQ convolutions, 4 × 64 ch on 56 × 56': quantizedConvs(64, 56, 4, qdqLayer),
  'QLinearConv, 4 × 64 ch on 56 × 56': quantizedConvs(64, 56, 4, qlinearLayer),
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'latencylab-unmodelled-'));
try {
  console.log(`| model (ort-cpu, ${threads} thread${threads === '1' ? '' : 's'}) | predicted ms | measured ms | error | kernels priced by the roofline |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, bytes] of Object.entries(MODELS)) {
    const file = path.join(dir, 'm.onnx');
    writeFileSync(file, bytes);
    const r = spawnSync(process.execPath, ['bin/latencylab.js', '--db', '.latencylab/models.db', 'measure', file, '--threads', threads, '--compare', '--json'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    const p = spawnSync(process.execPath, ['bin/latencylab.js', '--db', '.latencylab/models.db', 'predict', file, '--threads', threads, '--json'], { encoding: 'utf8' });
    const layers = JSON.parse(p.stdout).layers;
    const roof = layers.filter((l) => l.source === 'roofline');
    console.log(`| ${name} | ${j.predictedMs.toFixed(3)} | ${j.latencyMs.toFixed(3)} | ${((100 * (j.predictedMs - j.latencyMs)) / j.latencyMs).toFixed(0)} % | ${roof.length} of ${layers.length}${roof.length ? ` (${[...new Set(roof.map((l) => l.op))].join(", ")})` : ""} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
