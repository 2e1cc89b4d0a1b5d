// Is a kernel on a flat feature map (a few rows, many columns: text-recognition and classification
// networks such as PP-OCR rec / cls) timed like the square map of equal area it is predicted as
// (wholemodel/mapping.ts maps H×W to a square)? Times standalone kernels on H×W and on the
// equal-area square, each one measurement with the profiler's timing and the machine probe between
// its rounds, read as bench:models does (PER_ROUND), next to what the module predictors of the
// store predict for the flat kernel (standalone: its prediction plus the run overhead).
//   npm run build && node bin/measure-run.js scripts/nonsquare-probe.mjs [ort-wasm,ort-cpu] [chosen|heldout]   (alone: it measures)
// 'chosen': the kernels the flat-depthwise rule (wholemodel/fusion.ts) was chosen on; 'heldout':
// other shapes, channel counts and strides, measured after the choice to check it.
// Store: LATENCYLAB_BENCH_DB or .latencylab/models.db. reports/models-history.md, session 40 (results).
import { existsSync } from 'node:fs';
import path from 'node:path';
const { GraphBuilder } = await import('../dist/ir/graph.js');
const { toOnnx } = await import('../dist/ir/onnx.js');
const { decodeOnnxModel } = await import('../dist/ir/onnx-load.js');
const { importOnnx } = await import('../dist/ir/onnx-shapes.js');
const { measureModel } = await import('../dist/profile/model-timing.js');
const { MachineProbe } = await import('../dist/profile/probe.js');
const { getRuntime } = await import('../dist/runtimes/index.js');
const { Store } = await import('../dist/store/db.js');
const { WholeModelPredictor } = await import('../dist/wholemodel/predictor.js');
const { fusionTable } = await import('../dist/wholemodel/fusion.js');
const { quietestRoundProbe, ROUND_PROBE_RUNS } = await import('../dist/wholemodel/calibrate.js');

const kernel = (kind, c, cout, k, h, w, stride = 1) => {
  const b = new GraphBuilder(`${kind}-${h}x${w}`, 1);
  const x = b.input('input', [1, c, h, w]);
  b.output(kind === 'dw' ? b.conv(x, { cout: c, k, stride, groups: c, pad: 'same' }) : b.conv(x, { cout, k, stride, pad: 'same' }));
  return toOnnx(b.build());
};
// [kind, channels, cout, k, h, w, stride] — PP-OCR cls / rec-like depthwise and pointwise layers on flat maps
const chosen = [
  ['dw', 200, 200, 5, 2, 96],
  ['dw', 200, 200, 3, 2, 96],
  ['dw', 96, 96, 5, 3, 48],
  ['dw', 88, 88, 3, 3, 96],
  ['dw', 48, 48, 3, 6, 96],
  ['dw', 48, 48, 5, 12, 48],
  ['dw', 32, 32, 3, 24, 96],
  ['conv', 200, 32, 1, 2, 96],
  ['conv', 96, 96, 1, 6, 96],
  ['conv', 64, 64, 3, 12, 80],
  ['conv', 128, 128, 3, 3, 80],
];
const heldout = [
  ['dw', 120, 120, 3, 4, 64],
  ['dw', 72, 72, 5, 2, 48],
  ['dw', 240, 240, 3, 1, 40],
  ['dw', 40, 40, 5, 8, 128],
  ['dw', 64, 64, 3, 12, 160, 2],
  ['dw', 144, 144, 5, 6, 80, 2],
  ['dw', 16, 16, 3, 48, 320],
  ['dw', 480, 480, 3, 2, 24],
  ['conv', 120, 40, 1, 4, 64],
];
const sets = { chosen, heldout };
const setName = process.argv[3] ?? 'chosen';
if (!(setName in sets)) {
  console.error(`nonsquare-probe: unknown kernel set '${setName}', expected chosen or heldout`);
  process.exit(2);
}
const cases = sets[setName];
const storePath = process.env.LATENCYLAB_BENCH_DB ?? path.resolve('.latencylab', 'models.db');
// a missing path would be created empty by the store, and every prediction refused
if (!existsSync(storePath)) {
  console.error(`nonsquare-probe: no store at ${storePath} (run npm run bench:models first, or set LATENCYLAB_BENCH_DB)`);
  process.exit(2);
}
const store = new Store(storePath);
const devices = (process.argv[2] ?? 'ort-wasm,ort-cpu').split(',');
const unknown = devices.filter((d) => d !== 'ort-wasm' && d !== 'ort-cpu');
if (unknown.length) {
  console.error(`nonsquare-probe: unknown device ${unknown.join(', ')}, expected ort-wasm and/or ort-cpu (comma-separated)`);
  process.exit(2);
}
for (const device of devices) {
  const predictor = WholeModelPredictor.open(store, { device, threads: 1 });
  // the standalone prediction with a flat depthwise map priced either way (FusionTable.flatDepthwise)
  const predictStandalone = (bytes, flatDepthwise) => {
    const ks = predictor.kernelPredictions(importOnnx(decodeOnnxModel(bytes, 'probe')), { inGraph: null, fusion: { ...fusionTable(device), flatDepthwise } });
    return ks.reduce((s, k) => s + k.rawMs, 0) + predictor.runOverheadMs;
  };
  const probe = await MachineProbe.open(getRuntime(device), 1);
  console.log(`${device}, 1 thread; nominal probe ${predictor.nominalProbeMs?.toFixed(2)} ms; ms at the nominal state`);
  console.log('kernel | flat H×W | flat ms | square | square ms | flat / square | predicted flat as the square (area) | as rows of W×W (rows) | area / measured | rows / measured');
  try {
    for (const [kind, c, cout, k, h, w, stride = 1] of cases) {
      const side = Math.round(Math.sqrt(h * w));
      const out = [];
      for (const [hh, ww] of [[h, w], [side, side]]) {
        const bytes = kernel(kind, c, cout, k, hh, ww, stride);
        const r = await measureModel(bytes, [{ name: 'input', shape: [1, c, hh, ww], type: 'float32' }], device, 1, {}, () => probe.time(ROUND_PROBE_RUNS));
        const nominal = predictor.nominalProbeMs ?? quietestRoundProbe(r.stats);
        out.push({ hh, ww, ms: (r.stats.latencyMs * nominal) / quietestRoundProbe(r.stats), area: predictStandalone(bytes, 'area'), rows: predictStandalone(bytes, 'rows') });
      }
      const [flat, sq] = out;
      const label = (kind === 'dw' ? `dw ${k}×${k} ${c} ch` : `conv ${k}×${k} ${c}→${cout}`) + (stride > 1 ? ` /${stride}` : '');
      console.log([label, `${h}×${w}`, flat.ms.toFixed(3), `${side}×${side}`, sq.ms.toFixed(3), (flat.ms / sq.ms).toFixed(2), flat.area.toFixed(3), flat.rows.toFixed(3), (flat.area / flat.ms).toFixed(2), (flat.rows / flat.ms).toFixed(2)].join(' | '));
    }
  } finally {
    await probe.close();
  }
}
