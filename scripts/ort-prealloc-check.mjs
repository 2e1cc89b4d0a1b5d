// Does onnxruntime-node write into a preallocated output (fetches {name: Tensor}) without a new
// buffer per run? A Relu over 1×64×14×14, 50,000 runs, GCs counted by V8's trace:
//   node --trace-gc scripts/ort-prealloc-check.mjs pre|plain 2>&1 | grep -c Scavenge
import onnxProto from 'onnx-proto';
import ort from '../dist/runtimes/ort-node.js';
import { sessionOptions } from '../dist/runtimes/ort.js';
import { DirectSession } from '../dist/runtimes/ort-direct.js';
const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT;
const dims = [1, 64, 14, 14];
const info = (name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: F, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const g = onnx.GraphProto.create({ name: 'g', node: [onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })], input: [info('x')], output: [info('y')] });
const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g })).finish();
const s = DirectSession.create(bytes, sessionOptions(1));
const n = dims.reduce((a, b) => a * b);
const x = new ort.Tensor('float32', Float32Array.from({ length: n }, () => Math.random() - 0.5), dims);
const out = new ort.Tensor('float32', new Float32Array(n), dims);
const mode = process.argv[2];
const t = process.hrtime.bigint();
for (let i = 0; i < 50000; i++) {
  if (mode === 'pre') s.native.run({ x }, { y: out }, {});
  else s.run({ x });
}
console.log(mode, 'µs/run', (Number(process.hrtime.bigint() - t) / 1e3 / 50000).toFixed(2));
