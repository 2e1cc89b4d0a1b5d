// How long one measurement pass of a test network takes right now (as bench:models' time-to-measure
// figure, which takes the first 5 test networks of each family): `measureModel`'s wall time,
// session creation included, no round probes. For telling the machine's speed window from a code
// change when that figure moves between reports.
//   npm run build && node bin/measure-run.js scripts/models-pass-time.mjs [t1|t2|wasm] [per family]
import { measureModel } from '../dist/profile/model-timing.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { MODEL_SETTINGS } from '../dist/bench/models-data.js';

const [id = 't1', per = '2'] = process.argv.slice(2);
const s = MODEL_SETTINGS.find((x) => x.id === id);
if (!s || !(Number(per) >= 1)) {
  console.error('usage: node bin/measure-run.js scripts/models-pass-time.mjs [t1|t2|wasm] [networks per family >= 1]');
  process.exit(2);
}
const seen = new Map();
const walls = [];
for (const m of collectionModels('test', s)) {
  const k = seen.get(m.family) ?? 0;
  if (k >= Number(per)) continue;
  seen.set(m.family, k + 1);
  const mf = m.load();
  walls.push((await measureModel(mf.bytes, mf.inputs, s.device, s.threads)).wallMs);
}
const sorted = [...walls].sort((a, b) => a - b);
console.log(`${id}: one pass, median ${sorted[sorted.length >> 1].toFixed(0)} ms (p10–p90 ${sorted[Math.floor(0.1 * (sorted.length - 1))].toFixed(0)}–${sorted[Math.ceil(0.9 * (sorted.length - 1))].toFixed(0)} ms) over ${walls.length} test networks`);
