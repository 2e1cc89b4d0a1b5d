// Why a family's networks scatter: per network of one family (every collection of a bench:models
// setting), predicted ÷ measured next to the generator's configuration and the share of the
// calibrated prediction per module / op, and each column's Spearman correlation with the ratio on
// the calibration + validation networks (the design data) and, separately, on the test networks.
// Diagnosis only. Needs the bench store after a report step.
//   npm run build && node scripts/models-family-shares.mjs <t1|t2|wasm> <family>
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { existingModelsStore, MODEL_SETTINGS } from '../dist/bench/models-data.js';
import { modelFromBytes } from '../dist/wholemodel/model-file.js';
import { medianRuns, runsAtChosenWindow } from '../dist/wholemodel/calibrate.js';
import { FAMILIES, generateModel } from '../dist/modelgen/index.js';
import { median as med, spearman } from '../dist/util/stats.js';

const [id, family] = process.argv.slice(2);
const s = MODEL_SETTINGS.find((x) => x.id === id);
const fam = FAMILIES.find((f) => f.name === family);
if (!s || !fam) {
  console.error(`usage: node scripts/models-family-shares.mjs <${MODEL_SETTINGS.map((x) => x.id).join('|')}> <${FAMILIES.map((f) => f.name).join('|')}>`);
  process.exit(2);
}
const store = existingModelsStore();
const predictor = WholeModelPredictor.open(store, s);
const { runs } = runsAtChosenWindow(store, settingKey(s));
const rows = [];
for (const c of ['calib', 'val', 'test']) {
  const measured = medianRuns(runs.filter((r) => r.collection === c), predictor.nominalProbeMs);
  for (const m of collectionModels(c, s).filter((x) => x.family === family && measured.has(x.name))) {
    const f = m.load();
    predictor.clearMemo();
    const p = predictor.predict(modelFromBytes(f.bytes, m.name, f.inputs[0]?.shape).imported);
    const share = {};
    for (const k of p.kernels) {
      const key = k.module ?? `op:${k.kernel.op}`;
      share[key] = (share[key] ?? 0) + k.ms / p.totalMs;
    }
    share.overhead = p.overheadMs / p.totalMs;
    share.kernels = p.kernels.filter((k) => k.group !== 'free').length;
    const seed = Number(m.name.slice(m.name.lastIndexOf('-') + 1));
    const config = Object.fromEntries(Object.entries(generateModel(family, seed).config).map(([k, v]) => [k, Array.isArray(v) ? v.reduce((a, b) => a + b, 0) : v]).filter(([, v]) => typeof v === 'number'));
    rows.push({ c, name: m.name, y: measured.get(m.name).measuredMs, ratio: p.totalMs / measured.get(m.name).measuredMs, cols: { ...config, measuredMs: measured.get(m.name).measuredMs, ...share } });
  }
}
store.close();
const cols = [...new Set(rows.flatMap((r) => Object.keys(r.cols)))];
const design = rows.filter((r) => r.c !== 'test');
const test = rows.filter((r) => r.c === 'test');
console.log(`${family} on ${id}: ${design.length} calibration + validation, ${test.length} test networks`);
console.log('column                       ρ(ratio) design  ρ(ratio) test   median design   median test');
for (const k of cols) {
  const v = (r) => r.cols[k] ?? 0;
  console.log(`${k.padEnd(28)} ${spearman(design.map((r) => r.ratio), design.map(v)).toFixed(2).padStart(8)} ${spearman(test.map((r) => r.ratio), test.map(v)).toFixed(2).padStart(14)} ${med(design.map(v)).toPrecision(3).padStart(14)} ${med(test.map(v)).toPrecision(3).padStart(13)}`);
}
// the ratio by each configuration value with few distinct values (design / test medians)
for (const k of cols.filter((k) => new Set(rows.map((r) => r.cols[k])).size <= 6)) {
  const vals = [...new Set(rows.map((r) => r.cols[k]))].sort((a, b) => a - b);
  console.log(`${k}: ${vals.map((v) => {
    const d = design.filter((r) => r.cols[k] === v).map((r) => r.ratio);
    const t = test.filter((r) => r.cols[k] === v).map((r) => r.ratio);
    return `${v} → ${d.length ? med(d).toFixed(3) : '–'} (${d.length}) / ${t.length ? med(t).toFixed(3) : '–'} (${t.length})`;
  }).join(', ')}`);
}
// ROWS=1: one line per network (collection, name, measured ms, ratio, configuration and shares)
if (process.env.ROWS) {
  for (const r of rows) console.log([r.c, r.name, r.y.toFixed(3), r.ratio.toFixed(3), ...cols.map((k) => `${k}=${typeof r.cols[k] === 'number' ? Number(r.cols[k].toPrecision(3)) : r.cols[k]}`)].join(' '));
}
