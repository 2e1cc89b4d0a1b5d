// How a module's prediction on ort-cpu 1 thread grows with the number of measured
// configurations (conv2d in session 48, other modules since session 50): GBT and poly2 fitted on the first n rows of the bench store's
// training runs (80 % split, at the machine state bench:regressors chooses; since session 49 the
// bench's second training run `more-t1/conv2d` — in session 48 the dataset `extra-t1-conv2d` —
// is part of them), plus the rows of any other extra run profiled later (EXTRA, a dataset name
// in the same store), judged on the 20 % validation split and on the separate test run. Run
// with nothing else measuring (it fits models; it takes no latency figure).
//   npm run build && node scripts/conv2d-curve-study.mjs
//   EXTRA=extra-t1-conv2d   an extra dataset ('{module}' stands for each module's name), e.g. profiled by
//     LATENCYLAB_DB=.latencylab/regressors.db latencylab profile -m conv2d -n 4000 --seed 5 -t 1 --opt-level all --probe --reference --name extra-t1-conv2d
//   MODULE=conv-bn-act,maxpool   other modules' curves (default conv2d; sizes past a module's pool are skipped)
//   SIZES=200,400,800,1600,3200,5600  KINDS=gbt,poly2(,forest)
//   PER_CLASS=1  also one GBT per kernel class (NCHWc, im2col, 1×1 GEMM, depthwise) on the training run
//   GBT_OPTS='[{"maxDepth":7}, …]'  also GBTs with other hyper-parameters on the training run
// It first prints how well the later re-measurements agree with the first measurements (training
// and test configurations, the runs' median ratio divided out): the ceiling the RMs are judged against.
import { Store } from '../dist/store/db.js';
import { benchDbPath } from '../dist/bench/regressors-data.js';
import { dataAtMachineState, loadModuleRuns } from '../dist/bench/regressors-state.js';
import { getModule, MODULES } from '../dist/modules/index.js';
import { featureSpace, getRegressorKind } from '../dist/regressors/index.js';
import { atState, stateFactors, STATE_METHODS } from '../dist/select/machine-state.js';
import { featureOptionsFor, splitRows } from '../dist/select/split.js';
import { accuracy } from '../dist/select/metrics.js';
import { createGbt } from '../dist/regressors/gbt.js';
import { graphKernelWork } from '../dist/regressors/kernels.js';
import { hardwareFacts } from '../dist/runtimes/hardware.js';

// an unknown name fails here with the list of modules, before the store is read
const modules = (process.env.MODULE ?? 'conv2d').split(',').map((name) => {
  try {
    return getModule(name).name;
  } catch (e) {
    console.error(`MODULE=${process.env.MODULE}: ${e.message}`);
    process.exit(2);
  }
});
const store = new Store(benchDbPath());
// every module, as bench:regressors: the probe's machine-state factors pool the probe timings of all runs
const { dataOf } = await dataAtMachineState(store, MODULES.map((m) => m.name));
for (const MODULE of modules) {
{
  const runs = loadModuleRuns(store, 't1', MODULE).runs;
  const agree = (a, b, what) => {
    if (!a || !b) return;
    const first = new Map(a.map((r) => [r.params_json, r.latency_ms]));
    const e = b.filter((r) => first.has(r.params_json)).map((r) => r.latency_ms / first.get(r.params_json));
    const med = [...e].sort((x, y) => x - y)[e.length >> 1];
    console.log(`${what}: ${e.length} re-measured, within ±10 % of the first measurement ${((100 * e.filter((x) => Math.abs(x / med - 1) <= 0.1).length) / e.length).toFixed(1)} % (run ratio ${med.toFixed(3)} divided out)`);
  };
  agree(runs.train, runs.retrain, 'training configurations');
  agree(runs.test, runs.recheck, 'test configurations (noise floor)');
}
const d = dataOf.get(MODULE).find((x) => x.s.id === 't1');
if (!d) throw new Error(`no ${MODULE} 1-thread training and test runs in ${benchDbPath()}`);
const fs = featureSpace(getModule(MODULE), featureOptionsFor('ort-cpu'));
const { train, val } = splitRows(d.train, 0.2, 1);
let extra = [];
if (process.env.EXTRA) {
  const ds = store.requireDataset(process.env.EXTRA.replace('{module}', MODULE));
  const raw = store.samples(ds.id);
  // the extra run put at the training run's machine state, by the method chosen for it
  const rawTrain = loadModuleRuns(store, 't1', MODULE).runs.train;
  const f = stateFactors([{ rows: [...rawTrain, ...raw], nominal: rawTrain }], d.state ?? STATE_METHODS[0]);
  const seen = new Set([...d.train, ...d.test].map((r) => r.params_json));
  extra = atState(raw, f).filter((r) => !seen.has(r.params_json));
}
const pool = [...train, ...extra];
const trained = new Set(pool.map((r) => r.params_json));
const test = d.test.filter((r) => !trained.has(r.params_json));
const sizes = (process.env.SIZES ?? '200,400,800,1600,3200,5600').split(',').map(Number).filter((n) => n <= pool.length);
if (!sizes.includes(pool.length)) sizes.push(pool.length);
const Xv = val.map((r) => fs.encode(r)), yv = val.map((r) => r.latency_ms);
const Xt = test.map((r) => fs.encode(r)), yt = test.map((r) => r.latency_ms);
console.log(`${MODULE}, ort-cpu 1 thread: training pool ${train.length} + ${extra.length} extra, validation ${val.length}, test ${test.length} (machine state: ${JSON.stringify(d.state)})`);
console.log('| RM | n | validation ±10 % | validation MAPE % | test ±10 % | test MAPE % |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const kind of (process.env.KINDS ?? 'gbt,poly2').split(',')) {
  for (const n of sizes) {
    const rows = pool.slice(0, n);
    const rm = getRegressorKind(kind).create(1);
    await rm.fit(rows.map((r) => fs.encode(r)), rows.map((r) => r.latency_ms));
    const a = accuracy(rm.predict(Xv), yv), b = accuracy(rm.predict(Xt), yt);
    console.log(`| ${kind} | ${n} | ${(100 * a.within10).toFixed(1)} | ${a.mape.toFixed(1)} | ${(100 * b.within10).toFixed(1)} | ${b.mape.toFixed(1)} |`);
  }
}
const X = train.map((r) => fs.encode(r)), y = train.map((r) => r.latency_ms);
const show = (label, pred) => { const a = accuracy(pred, yv); console.log(`${label}: validation ±10 % ${(100 * a.within10).toFixed(1)}, MAPE ${a.mape.toFixed(1)} %`); };
for (const o of JSON.parse(process.env.GBT_OPTS ?? '[]')) {
  const g = createGbt(1, o);
  g.fit(X, y);
  show(`gbt ${JSON.stringify(o)}, training run only`, g.predict(Xv));
}
if (process.env.PER_CLASS === '1') {
  const hw = hardwareFacts('ort-cpu');
  const m = getModule(MODULE);
  const cls = (r) => { const w = graphKernelWork(m.build(JSON.parse(r.params_json), 1, false), hw); return w.depthwise_macs ? 'depthwise' : w.nchwc_convs ? 'nchwc' : w.gemm_conv_macs ? 'gemm' : 'im2col'; };
  const pred = new Array(val.length);
  for (const c of ['depthwise', 'nchwc', 'gemm', 'im2col']) {
    const tr = train.filter((r) => cls(r) === c);
    const vi = val.map((r, i) => [r, i]).filter(([r]) => cls(r) === c);
    if (!vi.length) continue;
    const rm = getRegressorKind(tr.length >= 50 ? 'gbt' : 'poly2').create(1);
    await rm.fit(tr.map((r) => fs.encode(r)), tr.map((r) => r.latency_ms));
    rm.predict(vi.map(([r]) => fs.encode(r))).forEach((p, k) => (pred[vi[k][1]] = p));
  }
  show('one GBT per kernel class, training run only', pred);
}
}
