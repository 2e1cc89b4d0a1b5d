// How well a setting's calibration and validation networks cover each family's range of size, with
// no measurement: every network's uncalibrated standalone prediction (the sum of its kernels' module
// predictions) against a pool of networks the generator draws from other seeds (3001 on) — the
// share of the pool smaller than the smallest calibration network, or larger than the largest, is
// where the calibration extrapolates. Run after `npm run build`, with the bench store's predictors:
//   node scripts/models-coverage.mjs [t1|t2|wasm] [pool per family, default 40]
// Session 42 (reports/models-history.md): the 1-thread calibration U-Nets by the draw of seeds.
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { existingModelsStore, MODEL_SETTINGS } from '../dist/bench/models-data.js';
import { generatedModels } from '../dist/wholemodel/calibrate.js';
import { modelFromBytes } from '../dist/wholemodel/model-file.js';

const [id = 't1', poolArg = '40'] = process.argv.slice(2);
const s = MODEL_SETTINGS.find((x) => x.id === id);
if (!s || !(Number(poolArg) >= 1)) {
  console.error(`usage: node scripts/models-coverage.mjs [${MODEL_SETTINGS.map((x) => x.id).join('|')}] [pool per family >= 1]`);
  process.exit(2);
}
const predictor = WholeModelPredictor.open(existingModelsStore(), s, { calibration: false });
const sizeMs = (m) => {
  const f = m.load();
  predictor.clearMemo();
  return predictor.predict(modelFromBytes(f.bytes, m.name, f.inputs[0]?.shape).imported, { inGraph: null, calibration: null }).totalMs;
};
const byFamily = (models) => {
  const out = new Map();
  for (const m of models) out.set(m.family, [...(out.get(m.family) ?? []), sizeMs(m)]);
  for (const v of out.values()) v.sort((a, b) => a - b);
  return out;
};
const calib = byFamily(collectionModels('calib', s));
const val = byFamily(collectionModels('val', s));
const pool = byFamily(generatedModels(3001, Number(poolArg)));
const q = (v, p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
const f2 = (x) => x.toFixed(2);
console.log(`${settingKey(s)}: uncalibrated standalone prediction, ms (calibration ${[...calib.values()][0].length} a family, validation ${[...val.values()][0].length}, pool ${poolArg})`);
console.log('family        calib min–max   val min–max     pool p10 / p50 / p90     pool below calib min   above calib max');
for (const [family, c] of calib) {
  const v = val.get(family);
  const p = pool.get(family);
  const below = p.filter((x) => x < c[0]).length / p.length;
  const above = p.filter((x) => x > c[c.length - 1]).length / p.length;
  console.log(`${family.padEnd(13)} ${`${f2(c[0])}–${f2(c[c.length - 1])}`.padEnd(15)} ${`${f2(v[0])}–${f2(v[v.length - 1])}`.padEnd(15)} ${`${f2(q(p, 0.1))} / ${f2(q(p, 0.5))} / ${f2(q(p, 0.9))}`.padEnd(24)} ${`${(100 * below).toFixed(0)} %`.padEnd(22)} ${(100 * above).toFixed(0)} %`);
}
