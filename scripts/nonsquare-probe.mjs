// Is a kernel on a flat feature map (a few rows, many columns: text-recognition and classification
// networks such as PP-OCR rec / cls) timed like the square map of equal area it is predicted as
// (kernels.ts / mapping.ts map H×W to a square)? Times standalone kernels on H×W and on the
// equal-area square, on ort-wasm and ort-cpu (1 thread), each one measurement with the profiler's
// timing and the machine probe between its rounds, read as bench:models does (PER_ROUND).
//   npm run build && node bin/measure-run.js scripts/nonsquare-probe.mjs      (alone: it measures)
// reports/models-history.md, session 39.
const { GraphBuilder } = await import('../dist/ir/graph.js');
const { toOnnx } = await import('../dist/ir/onnx.js');
const { measureModel } = await import('../dist/profile/model-timing.js');
const { MachineProbe } = await import('../dist/profile/probe.js');
const { getRuntime } = await import('../dist/runtimes/index.js');
const { quietestRoundProbe, ROUND_PROBE_RUNS } = await import('../dist/wholemodel/calibrate.js');

const kernel = (kind, c, cout, k, h, w) => {
  const b = new GraphBuilder(`${kind}-${h}x${w}`, 1);
  const x = b.input('input', [1, c, h, w]);
  b.output(kind === 'dw' ? b.conv(x, { cout: c, k, groups: c, pad: 'same' }) : b.conv(x, { cout, k, pad: 'same' }));
  return toOnnx(b.build());
};
const cases = [
  // [label, kind, channels, cout, k, h, w] — PP-OCR cls's largest depthwise and pointwise layers, rec-like 3×3
  ['dw 5×5, 200 ch', 'dw', 200, 200, 5, 2, 96],
  ['dw 3×3, 88 ch', 'dw', 88, 88, 3, 3, 96],
  ['conv 1×1, 200→32', 'conv', 200, 32, 1, 2, 96],
  ['conv 3×3, 64→64', 'conv', 64, 64, 3, 12, 80],
];
for (const device of ['ort-wasm', 'ort-cpu']) {
  const probe = await MachineProbe.open(getRuntime(device), 1);
  try {
    for (const [label, kind, c, cout, k, h, w] of cases) {
      const side = Math.round(Math.sqrt(h * w));
      const out = [];
      for (const [hh, ww] of [[h, w], [side, side]]) {
        const r = await measureModel(kernel(kind, c, cout, k, hh, ww), [{ name: 'input', shape: [1, c, hh, ww], type: 'float32' }], device, 1, {}, () => probe.time(ROUND_PROBE_RUNS));
        out.push({ hh, ww, ms: r.stats.latencyMs, probe: quietestRoundProbe(r.stats) });
      }
      const [flat, sq] = out;
      // both at the machine state of the flat one's quietest round
      const sqAtFlat = (sq.ms * flat.probe) / sq.probe;
      console.log(`${device} ${label}: ${flat.hh}×${flat.ww} ${flat.ms.toFixed(3)} ms (probe ${flat.probe.toFixed(2)}) vs ${sq.hh}×${sq.ww} ${sq.ms.toFixed(3)} ms (probe ${sq.probe.toFixed(2)}); flat / square at one machine state ${(flat.ms / sqAtFlat).toFixed(2)}`);
    }
  } finally {
    await probe.close();
  }
}
