// How far onnxruntime's per-node profiles are from the end-to-end latency of the same networks,
// from the bench:models store alone (no measurement): for each ort-cpu setting, the calibration
// networks' profiled node times (the median of 20 profiled runs per node) summed, against their
// unprofiled end-to-end latency (median of 3 passes), both at the nominal machine state. The share
// of networks whose profiled sum, less a per-node cost fitted by least squares over all networks
// (one cost; a cost for nodes under / over a threshold; plus a proportional term), is within ±10 %
// of the end-to-end latency says how much of a network's time the profile can account for node by
// node. Also: how the 2-thread latency compares with the 1-thread one per network. Run after
// `npm run build` with the bench store in place (.latencylab/models.db):
//   node scripts/profiler-distortion.mjs
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';
import { atMachineState, chooseProbeWindow, medianRuns, profileAtNominal, profilesAtMachineState } from '../dist/wholemodel/calibrate.js';
import { solveRidge } from '../dist/regressors/ridge.js';

const store = new Store(modelsDbPath());
const within10 = (xs) => (100 * xs.filter((x) => Math.abs(x - 1) <= 0.1).length) / xs.length;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const bySetting = new Map();
for (const s of MODEL_SETTINGS.filter((x) => x.device === 'ort-cpu')) {
  const key = settingKey(s);
  const nominal = WholeModelPredictor.open(store, s, { calibration: false, inGraph: false }).nominalProbeMs;
  const runs = store.deviceModelRuns(key);
  const window = chooseProbeWindow(runs, (r) => r.collection === 'calib' || r.collection === 'val');
  const measured = medianRuns(atMachineState(runs, window.windowS).filter((r) => r.collection === 'calib'), nominal);
  const profiles = profilesAtMachineState(store.nodeProfiles('calib', key), window.windowS);
  const nets = [...profiles].filter(([name]) => measured.has(name)).map(([name, p]) => {
    const nodes = profileAtNominal(p, nominal).map((n) => n.ms);
    return { name, family: name.replace(/-\d+$/, ''), nodes, sum: nodes.reduce((a, b) => a + b, 0), e2e: measured.get(name).measuredMs };
  });
  bySetting.set(s.id, nets);
  console.log(`\n${s.label}: ${nets.length} calibration networks`);
  console.log(`  Σ profiled / end-to-end: median ${median(nets.map((n) => n.sum / n.e2e)).toFixed(2)}, range ${Math.min(...nets.map((n) => n.sum / n.e2e)).toFixed(2)}–${Math.max(...nets.map((n) => n.sum / n.e2e)).toFixed(2)}; raw sum within ±10 %: ${within10(nets.map((n) => n.sum / n.e2e)).toFixed(1)} %`);
  // per-node cost models, fitted on relative error over all networks (an upper bound: in-sample)
  const models = {
    'one cost per node': (n) => [n.nodes.length],
    'a cost for nodes < 10 µs, another for the rest': (n) => [n.nodes.filter((x) => x < 0.01).length, n.nodes.filter((x) => x >= 0.01).length],
    'the two costs + a share of the node time': (n) => [n.nodes.filter((x) => x < 0.01).length, n.nodes.filter((x) => x >= 0.01).length, n.sum],
  };
  for (const [label, f] of Object.entries(models)) {
    const X = nets.map((n) => f(n).map((x) => x / n.e2e));
    const w = solveRidge(X, nets.map((n) => (n.sum - n.e2e) / n.e2e), 1e-9);
    const ratios = nets.map((n, i) => (n.sum - X[i].reduce((a, x, j) => a + x * w[j] * n.e2e, 0)) / n.e2e);
    const terms = w.map((x, j) => (j < 2 ? `${(x * 1000).toFixed(2)} µs` : x.toFixed(3))).join(', ');
    console.log(`  less ${label} (${terms}): within ±10 % of end-to-end ${within10(ratios).toFixed(1)} %`);
  }
  const fams = [...new Set(nets.map((n) => n.family))];
  console.log(`  Σ profiled / end-to-end by family (median): ${fams.map((f) => `${f} ${median(nets.filter((n) => n.family === f).map((n) => n.sum / n.e2e)).toFixed(2)}`).join(', ')}`);
}
const [one, two] = [bySetting.get('t1'), bySetting.get('t2')];
if (one && two) {
  const t1 = new Map(one.map((n) => [n.name, n]));
  const both = two.filter((n) => t1.has(n.name)).map((n) => ({ ...n, r: n.e2e / t1.get(n.name).e2e, perNodeUs: (1000 * t1.get(n.name).e2e) / n.nodes.length }));
  const small = both.filter((n) => n.perNodeUs < 5);
  const large = both.filter((n) => n.perNodeUs >= 20);
  console.log(`\n2 threads / 1 thread end-to-end, per network: median ${median(both.map((n) => n.r)).toFixed(2)}; slower on 2 threads: ${both.filter((n) => n.r > 1).length} of ${both.length}`);
  console.log(`  networks averaging < 5 µs per node on 1 thread (${small.length}): median ${small.length ? median(small.map((n) => n.r)).toFixed(2) : '–'}; ≥ 20 µs (${large.length}): ${large.length ? median(large.map((n) => n.r)).toFixed(2) : '–'}`);
  const extra = small.map((n) => (1000 * (n.e2e - t1.get(n.name).e2e)) / n.nodes.length);
  if (extra.length) console.log(`  what 2 threads add per node on the small ones: median ${median(extra).toFixed(2)} µs`);
}
store.close();
