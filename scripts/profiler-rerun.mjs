// Profiles calibration networks again and prints, beside the bench
// store, per network, Σ node medians and Σ node means of 20 profiled runs, the profiled runs'
// own median `model_run`, the stored profile's sum (raw, as stored) and the stored unprofiled
// end-to-end latency. Takes real latency figures: run it alone, after `npm run build`, with the
// bench store in place (.latencylab/models.db):
//   node scripts/profiler-rerun.mjs [t1|t2] [networks]       (default t2 22, ~1 min)

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os'; import path from 'node:path';
import { getRuntime } from '../dist/runtimes/index.js';
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';
import { medianRuns } from '../dist/wholemodel/calibrate.js';
const s = MODEL_SETTINGS.find((x) => x.id === (process.argv[2] ?? 't2'));
const N = Number(process.argv[3] ?? 22);
const store = new Store(modelsDbPath());
const key = settingKey(s);
const predictor = WholeModelPredictor.open(store, s, { calibration: false });
const runs = medianRuns(store.deviceModelRuns(key).filter((r) => r.collection === 'calib'), undefined);
const rt = getRuntime('ort-cpu');
const stored = store.nodeProfiles('calib', key);
const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[b.length >> 1]; };
const models = collectionModels('calib', s).filter((_, i) => i % Math.ceil(220 / N) === 0);
for (const m of models) {
  const f = m.load();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latencylab-ps-'));
  const p = await rt.prepareOnnx(f.bytes, f.inputs, { threads: s.threads, optLevel: 'all', loadWorkers: 0, loadDuty: 0 }, { profilePrefix: path.join(dir, 'p') });
  for (let i = 0; i < 3; i++) await p.run();
  for (let i = 0; i < 20; i++) await p.run();
  p.endProfiling(); await p.dispose();
  const ev = JSON.parse(readFileSync(path.join(dir, readdirSync(dir).find((x) => x.endsWith('.json'))), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const nodes = new Map(); const runsMs = [];
  for (const e of ev) {
    if (e.cat === 'Session' && e.name === 'model_run') runsMs.push(e.dur / 1000);
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const a = nodes.get(e.name) ?? []; a.push(e.dur / 1000); nodes.set(e.name, a);
  }
  const last = [...nodes.values()].map((a) => a.slice(-20));
  const sMed = last.reduce((x, a) => x + med(a), 0), sMean = last.reduce((x, a) => x + a.reduce((u, v) => u + v, 0) / a.length, 0);
  const run = med(runsMs.slice(-20));
  const e2e = runs.get(m.name)?.measuredMs;
  const sp = stored.get(m.name); const sSum = sp ? sp.nodes.reduce((a, v) => a + v.ms, 0) : NaN;
  console.log(`stored Σ ${sSum.toFixed(3)} (now/stored ${(sMed / sSum).toFixed(2)}) ` + `${m.name.padEnd(22)} nodes ${String(nodes.size).padStart(4)}  Σmed ${sMed.toFixed(3)}  Σmean ${sMean.toFixed(3)}  model_run ${run.toFixed(3)}  (Σmed/run ${(sMed / run).toFixed(2)}, Σmean/run ${(sMean / run).toFixed(2)})  stored e2e ${e2e?.toFixed(3)}`);
}
