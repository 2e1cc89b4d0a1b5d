// run after `npm run build` and `npm run bench:models`: node scripts/hardswish-fusion-networks.mjs
// ort-wasm: MobileNetV3 calibration + validation networks (never test) predicted with and without the
// conv-hardswish rule, before calibration, against their stored measurements (the bench store).
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { generateModel } from '../dist/modelgen/index.js';
import { atNominal } from '../dist/wholemodel/calibration.js';
import { fusionTable } from '../dist/wholemodel/fusion.js';
const s = MODEL_SETTINGS.find((x) => x.id === 'wasm');
const store = new Store(modelsDbPath());
const p = WholeModelPredictor.open(store, s);
for (const coll of ['calib', 'val']) {
  const runs = new Map(store.modelRuns(coll, settingKey(s)).map((r) => [r.model, r]));
  for (const m of collectionModels(coll, s).filter((m) => m.family === 'mobilenetv3')) {
    const run = runs.get(m.name); if (!run) continue;
    const form = generateModel('mobilenetv3', Number(m.name.split('-').pop())).config.hswish;
    const meas = atNominal(run.latencyMs, run.probeMs, p.nominalProbeMs);
    const rules = fusionTable('ort-wasm').rules;
    const had = rules.has('conv-hardswish');
    rules.delete('conv-hardswish');
    p.clearMemo(); const off = p.predict(m.load().imported, { calibration: null }).totalMs;
    rules.add('conv-hardswish');
    p.clearMemo(); const on = p.predict(m.load().imported, { calibration: null }).totalMs;
    if (!had) rules.delete('conv-hardswish');
    console.log(coll, m.name, form.padEnd(16), 'uncalibrated sum / measured: not fused', (off / meas).toFixed(2), 'fused', (on / meas).toFixed(2));
  }
}
