// run after `npm run build`: node scripts/hardswish-fusion.mjs [ort-wasm|ort-cpu] (alone on the machine; ~10 s)
// Is a convolution's x·HardSigmoid(x) (hard-swish as tf2onnx writes it) fused on a device? A chain of
// eight 1×1 convolutions with each activation spelling, timed with the profiler's timing, 4 rounds.
import { GraphBuilder } from '../dist/ir/graph.js';
import { toOnnx } from '../dist/ir/onnx.js';
import { modelFromBytes } from '../dist/wholemodel/model-file.js';
import { measureModel } from '../dist/profile/model-timing.js';
const device = process.argv[2] ?? 'ort-wasm';
const forms = ['none', 'relu', 'hswish-op', 'mul-hardsigmoid', 'hardsigmoid-only'];
const build = (form) => {
  const b = new GraphBuilder(form, 1);
  let y = b.input('x', [1, 64, 28, 28]);
  for (let i = 0; i < 8; i++) {
    y = b.conv(y, { cout: 64, k: 1 });
    if (form === 'relu') y = b.act(y, 'relu');
    if (form === 'hswish-op') y = b.act(y, 'hswish');
    if (form === 'mul-hardsigmoid') y = b.mul(y, b.hardSigmoid(y));
    if (form === 'hardsigmoid-only') y = b.hardSigmoid(y);
  }
  b.output(y);
  const bytes = toOnnx(b.build());
  return { bytes, inputs: modelFromBytes(bytes, form).inputs };
};
const models = Object.fromEntries(forms.map((f) => [f, build(f)]));
const res = Object.fromEntries(forms.map((f) => [f, []]));
for (let r = 0; r < 4; r++) for (const f of forms) res[f].push((await measureModel(models[f].bytes, models[f].inputs, device, 1)).stats.latencyMs);
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const f of forms) console.log(device, f.padEnd(18), med(res[f]).toFixed(4), 'ms', res[f].map((x) => x.toFixed(3)).join(' '));
