// Does a standalone ort-wasm run pay for copying its input and output between JavaScript and the
// wasm heap, which a kernel inside a network does not? Times chains of N elementwise ops (Relu) on
// one large map, and N 3×3 convolutions 96→96 at 160², on ort-wasm and ort-cpu (1 thread):
// latency(N) = fixed + N · per-op, where the fixed part holds the run's input/output transfer.
//   npm run build && node bin/measure-run.js scripts/wasm-io-probe.mjs      (alone: it measures)
// reports/models-history.md, session 38.
const { GraphBuilder } = await import('../dist/ir/graph.js');
const { toOnnx } = await import('../dist/ir/onnx.js');
const { measureModel } = await import('../dist/profile/model-timing.js');

const chain = (n, shape, op) => {
  const b = new GraphBuilder(`chain-${op}-${n}`, 1);
  let y = b.input('input', shape);
  for (let i = 0; i < n; i++) y = op === 'relu' ? b.act(y, 'relu') : b.conv(y, { cout: shape[1], k: 3 });
  b.output(y);
  return toOnnx(b.build());
};
// least squares of y = a + b·x
const fit = (xs, ys) => {
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  const b = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return { fixed: my - b * mx, per: b };
};
for (const [op, shape, ns] of [['relu', [1, 96, 160, 160], [1, 2, 4, 8]], ['conv', [1, 96, 160, 160], [1, 2, 3]]]) {
  for (const device of ['ort-wasm', 'ort-cpu']) {
    const ys = [];
    for (const n of ns) {
      const r = await measureModel(chain(n, shape, op), [{ name: 'input', shape, type: 'float32' }], device, 1);
      ys.push(r.stats.latencyMs);
    }
    const f = fit(ns, ys);
    const mb = (shape.reduce((a, b) => a * b, 1) * 4) / 1e6;
    console.log(`${device} ${op} ×N on [${shape}] (${mb.toFixed(1)} MB in, same out): N=${ns.join('/')} → ${ys.map((y) => y.toFixed(2)).join(' / ')} ms; fixed ${f.fixed.toFixed(2)} ms, per op ${f.per.toFixed(2)} ms (a single op standalone: ${ys[0].toFixed(2)} ms)`);
  }
}
