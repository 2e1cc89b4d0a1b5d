// One family's networks in every collection of a bench:models setting, with the stored predictor
// (its chosen in-graph correction and calibration): input shape, measured ms (median of passes at
// the nominal machine state), predicted ÷ measured, and its uncalibrated sum ÷ measured — to see
// whether a family's test networks lie where its calibration networks do. Diagnosis only: a design
// is still chosen on the calibration and validation networks (scripts/models-calibration-study.mjs,
// scripts/models-design-study.mjs). Needs the bench store after a report step.
//   npm run build && node scripts/models-family-ratios.mjs <t1|t2|wasm> <family>
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { existingModelsStore, MODEL_SETTINGS } from '../dist/bench/models-data.js';
import { modelFromBytes } from '../dist/wholemodel/model-file.js';
import { medianRuns, runsAtChosenWindow } from '../dist/wholemodel/calibrate.js';
import { FAMILIES } from '../dist/modelgen/index.js';

const [id, family] = process.argv.slice(2);
const names = FAMILIES.map((f) => f.name);
const s = MODEL_SETTINGS.find((x) => x.id === id);
if (!s || !names.includes(family)) {
  console.error(`usage: node scripts/models-family-ratios.mjs <${MODEL_SETTINGS.map((x) => x.id).join('|')}> <${names.join('|')}>`);
  process.exit(2);
}
const store = existingModelsStore();
const key = settingKey(s);
const predictor = WholeModelPredictor.open(store, s);
const { runs } = runsAtChosenWindow(store, key);
console.log('collection  network  input  measured ms  predicted/measured  uncalibrated sum/measured');
for (const c of ['calib', 'val', 'test']) {
  const measured = medianRuns(runs.filter((r) => r.collection === c), predictor.nominalProbeMs);
  const rows = collectionModels(c, s).filter((m) => m.family === family && measured.has(m.name)).map((m) => {
    const f = m.load();
    predictor.clearMemo();
    const p = predictor.predict(modelFromBytes(f.bytes, m.name, f.inputs[0]?.shape).imported);
    const y = measured.get(m.name).measuredMs;
    return { name: m.name, shape: JSON.stringify(f.inputs[0]?.shape), y, ratio: p.totalMs / y, raw: p.rawSumMs / y };
  });
  for (const r of rows.sort((a, b) => a.y - b.y)) console.log(`${c.padEnd(6)} ${r.name.padEnd(16)} ${r.shape.padEnd(16)} ${r.y.toFixed(2).padStart(8)} ${r.ratio.toFixed(2).padStart(6)} ${r.raw.toFixed(2).padStart(6)}`);
}
store.close();
