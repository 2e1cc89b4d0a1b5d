// A PP-OCR model's layers as the stored predictor prices them: the module's standalone answer,
// the in-graph trees' answer and the calibrated one, for the layers named (default: PP-OCR cls's
// depthwise convolutions on flat text-line maps, which `measure --compare` profiles at 0.3–0.5× the
// calibrated figure on 1 thread: reports/models-history.md, session 45). Reads the bench store only.
//   npm run build && node scripts/ppocr-layer-estimates.mjs [t1|t2] [cls|det|rec] [layer,layer,...]
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor } from '../dist/wholemodel/predictor.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';
import { PPOCR_MODELS, ppocrModel } from '../dist/bench/models-measure.js';

const [id = 't1', which = 'cls', names = 'p2o.Conv.2,p2o.Conv.7,p2o.Conv.13,p2o.Conv.18,p2o.Conv.38,p2o.Conv.43'] = process.argv.slice(2);
const s = MODEL_SETTINGS.find((x) => x.id === id);
const entry = PPOCR_MODELS.find((m) => m.file.includes(`_${which}_`));
if (!s || !entry || s.device !== 'ort-cpu') {
  console.error('usage: node scripts/ppocr-layer-estimates.mjs [t1|t2] [cls|det|rec] [layer,layer,...]');
  process.exit(2);
}
const store = new Store(modelsDbPath());
const predictor = WholeModelPredictor.open(store, s);
const model = ppocrModel(entry).imported;
const standalone = predictor.kernelPredictions(model, { inGraph: null });
const calibrated = predictor.predict(model).kernels;
const us = (ms) => (ms * 1000).toFixed(1).padStart(7);
console.log(`${entry.name} on ${s.id}: layer, module, input, strides, standalone / in-graph / calibrated µs`);
for (const name of names.split(',')) {
  const i = standalone.findIndex((k) => k.kernel.name === name);
  if (i < 0) {
    console.log(`${name}: no such kernel`);
    continue;
  }
  const k = standalone[i];
  console.log(`${name.padEnd(14)} ${(k.module ?? 'roofline').padEnd(8)} ${JSON.stringify(k.kernel.inputShapes[0]).padEnd(16)} ${JSON.stringify(k.kernel.attrs.strides ?? [1, 1]).padEnd(6)} ${us(k.rawMs)} ${us(calibrated[i].rawMs)} ${us(calibrated[i].ms)}`);
}
store.close();
