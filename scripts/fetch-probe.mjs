// run after `npm run build`: node scripts/fetch-probe.mjs (alone on the machine; ~5 s)
// How much of a standalone memory-bound module timing is session.run's feeding and
// fetching rather than the kernel: one Mul of two same-shape tensors, wall per run vs the node's
// own time in onnxruntime's profile (ort-cpu, 1 thread)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import ort from '../dist/runtimes/ort-node.js';
import { GraphBuilder } from '../dist/ir/graph.js';
import { toOnnx } from '../dist/ir/onnx.js';
for (const shape of [[1, 16, 8, 8], [1, 64, 24, 160], [1, 240, 12, 80], [1, 480, 24, 80]]) {
  const b = new GraphBuilder('mul');
  const x = b.input('x', shape);
  const y = b.input('y', shape);
  b.output(b.binary('Mul', x, y));
  const bytes = toOnnx(b.build());
  const prefix = `/tmp/fetchprobe-${shape.join('x')}`;
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
  const n = shape.reduce((a, c) => a * c, 1);
  const feeds = { x: new ort.Tensor('float32', new Float32Array(n).fill(1), shape), y: new ort.Tensor('float32', new Float32Array(n).fill(2), shape) };
  for (let i = 0; i < 20; i++) await s.run(feeds);
  const walls = [];
  for (let i = 0; i < 200; i++) { const t0 = performance.now(); await s.run(feeds); walls.push(performance.now() - t0); }
  s.endProfiling();
  const file = readdirSync('/tmp').filter((f) => f.startsWith(`fetchprobe-${shape.join('x')}`)).map((f) => `/tmp/${f}`)[0];
  const ev = JSON.parse(readFileSync(file, 'utf8')).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const node = ev.slice(20).map((e) => e.dur / 1000).sort((a, c) => a - c);
  rmSync(file);
  walls.sort((a, c) => a - c);
  const mb = (3 * n * 4) / 1e6;
  console.log(`${shape.join('×')} (${mb.toFixed(2)} MB moved): run median ${(walls[100] * 1000).toFixed(1)} µs (p10–p90 ${(walls[20] * 1000).toFixed(1)}–${(walls[180] * 1000).toFixed(1)}), Mul node median ${(node[node.length >> 1] * 1000).toFixed(1)} µs`);
}
