// The machine-state signals of bench:regressors' wasm datasets, per module and run (session 56:
// the wasm probe timed 12 ms in one process and 41 ms in another). Reads the store; times nothing.
//   npm run build && node scripts/wasm-probe-levels.mjs [module ...]
import { Store } from '../dist/store/db.js';
import { benchDbPath } from '../dist/bench/regressors-data.js';
const s = new Store(benchDbPath());
const med = (a) => { const b = a.filter((x) => x != null).sort((x, y) => x - y); return b.length ? b[Math.floor(b.length / 2)] : null; };
const modules = process.argv.slice(2).length ? process.argv.slice(2) : ['softmax', 'concat', 'mhsa', 'layernorm', 'add'];
for (const m of modules) for (const role of ['train', 'test']) {
  const d = s.getDataset(`${role}-wasm/${m}`);
  if (!d) continue;
  const r = s.samples(d.id);
  console.log(m, role, 'lat', med(r.map((x) => x.latency_ms)).toFixed(3), 'probe', med(r.map((x) => x.probe_ms)), 'ref', med(r.map((x) => x.ref_ms)), 'at', r[0].measured_at, r[r.length-1].measured_at);
}
