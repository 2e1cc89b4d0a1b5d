// The demo's whole-network check on other generated networks (a check outside the demo's own
// seed-5001 networks): measures SEED.. (PERFAMILY per family) as the demo measures (3 passes, the
// machine probe before each) and predicts them with each store's calibrated predictor.
//   npm run build && node scripts/demo-wholemodel-check.mjs 6001 2 .latencylab/latencylab.db [other.db …]
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor } from '../dist/wholemodel/predictor.js';
import { atMachineState, generatedModels, MEASUREMENT_PASSES, medianRuns } from '../dist/wholemodel/calibrate.js';
import { MachineProbe } from '../dist/profile/probe.js';
import { measureModel } from '../dist/profile/model-timing.js';
import { getRuntime } from '../dist/runtimes/index.js';
const [seed, per, ...dbs] = process.argv.slice(2);
const setting = { device: 'ort-cpu', threads: 1 };
const nets = generatedModels(Number(seed), Number(per)).map((m) => ({ m, mf: m.load() }));
const probe = await MachineProbe.open(getRuntime('ort-cpu'), 1);
const runs = [];
for (let pass = 0; pass < MEASUREMENT_PASSES; pass++) for (const { m, mf } of nets) {
  const probeMs = await probe.time();
  const r = await measureModel(mf.bytes, mf.inputs, 'ort-cpu', 1);
  runs.push({ collection: 'v', model: m.name, deviceKey: 'ort-cpu/t1', createMs: r.createMs, latencyMs: r.stats.latencyMs, stats: null, probeMs, pass, measuredAt: Date.now() });
}
await probe.close();
for (const db of dbs) {
  const store = new Store(db);
  const p = WholeModelPredictor.open(store, setting);
  const cal = store.calibration('ort-cpu/t1');
  // the calibration's probe window (as the demo: cal.probeWindow) — the stored calibration's probe
  const measured = medianRuns(atMachineState(runs, Number(process.env.WINDOW ?? 5)), p.nominalProbeMs);
  const errs = nets.map(({ m, mf }) => { const pr = p.predict(mf.imported).totalMs; const t = measured.get(m.name).measuredMs; return { n: m.name, e: (100 * (pr - t)) / t }; });
  const a = errs.map((x) => Math.abs(x.e));
  console.log(db, `${a.filter((x) => x <= 10).length}/${a.length} within ±10 %, mean |err| ${(a.reduce((s, x) => s + x, 0) / a.length).toFixed(1)} %`);
  console.log('  ' + errs.map((x) => `${x.n} ${x.e.toFixed(0)}`).join(', '));
  store.close();
}
