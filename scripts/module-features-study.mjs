// Which features and model forms predict a module better on ort-cpu 1 thread (session 54): the
// shipped feature space against it plus candidate kernel features, and an additive work model
// (non-negative costs per unit of work, fitted in relative error, in milliseconds) with boosted
// trees on its log residual. Data: bench:regressors' store (training run's 80 % split to fit, its
// 20 % validation split to choose; the separate test run only with TEST=1, never for choosing),
// at the machine state the bench chooses. Fits models only; takes no latency figure.
//   npm run build && MODULE=maxpool,avgpool node scripts/module-features-study.mjs
//   VARIANTS=shipped,pool   KINDS=gbt,poly2,additive,additive+gbt   TEST=1   BY_CLASS=1 (validation per MLAS kernel class)
//   STATE=reference:5   one machine-state method for every variant (default: each module's choice, made on the shipped features)
// Variants: 'shipped' (featureSpace as the bench uses it), 'pool' (+ the NCHWc pooling kernel's
// work: ReorderInput / ReorderOutput bytes, vector loads of the windows, output rows), 'conv'
// (+ a convolution module's MACs split by kernel size and stride — MLAS runs 1×1, k×k and strided
// NCHWc kernels at different speeds — its NCHWc reorder bytes, and the bytes of an activation
// that does not fuse into the convolution: HardSwish), 'mlas' (+ the loop nest of MLAS's
// convolution kernels: kernel calls, vector FMAs, broadcast loads, output re-reads, filter reads,
// padded outputs per NCHWc / pointwise / depthwise kernel; im2col bytes and SGEMM work off it).
import { Store } from '../dist/store/db.js';
import { benchDbPath } from '../dist/bench/regressors-data.js';
import { dataAtMachineState } from '../dist/bench/regressors-state.js';
import { parseStateMethod } from '../dist/select/machine-state.js';
import { getModule } from '../dist/modules/index.js';
import { featureSpace, getRegressorKind } from '../dist/regressors/index.js';
import { featureOptionsFor, splitRows } from '../dist/select/split.js';
import { accuracy } from '../dist/select/metrics.js';
import { fitNonNegativeRelative } from '../dist/regressors/ridge.js';
import { createGbt } from '../dist/regressors/gbt.js';
import { hardwareFacts } from '../dist/runtimes/hardware.js';
import { graphKernelWork, mlasConvWork } from '../dist/regressors/kernels.js';

const modules = (process.env.MODULE ?? 'maxpool').split(',').map((n) => getModule(n).name);
const variants = (process.env.VARIANTS ?? 'shipped,pool').split(',');
const kinds = (process.env.KINDS ?? 'gbt,poly2,additive,additive+gbt').split(',');
const TEST = process.env.TEST === '1';
const BY_CLASS = process.env.BY_CLASS === '1';
/** which MLAS path a graph's convolutions take (the first that applies) */
const kernelClass = (graph) => {
  const w = mlasConvWork(graph, hw);
  return w.dw_calls ? 'depthwise' : w.pw_calls ? 'pointwise' : w.calls ? `nchwc` : w.im2col_bytes ? 'im2col' : w.gemm_calls ? 'gemm' : 'none';
};
const hw = hardwareFacts('ort-cpu');
const B = hw.nchwcBlock || hw.simdFloats;
const up = (v) => Math.ceil(v / B) * B;

/** linear-scale work terms of a configuration (the additive model's columns; their log1p the extra features) */
const WORK = {
  pool(p) {
    const n = p.batch, c = up(p.c), h = p.hw, o = Math.floor((h - p.k) / p.stride) + 1;
    return {
      reorder_in_bytes: 4 * n * c * h * h,
      reorder_out_bytes: 4 * n * c * o * o,
      window_loads: n * (c / B) * o * o * p.k * p.k,
      output_rows: n * (c / B) * o,
    };
  },
  conv(p, graph) {
    const w = { nchwc_reorder_bytes: 0, act_bytes: 0 };
    for (const n of graph.nodes) {
      if (n.op === 'Conv') {
        const [batch, cin] = graph.shapes.get(n.inputs[0]);
        const [, cout, oh, ow] = graph.shapes.get(n.outputs[0]);
        const k = n.attrs.kernel_shape[0], stride = n.attrs.strides[0], groups = Number(n.attrs.group ?? 1);
        const key = `macs_k${k}_s${stride}${groups > 1 ? '_g' : ''}`;
        w[key] = (w[key] ?? 0) + batch * oh * ow * up(cout) * (cin / groups) * k * k;
      }
      if (n.op === 'HardSwish') w.act_bytes += 8 * graph.shapes.get(n.outputs[0]).reduce((a, b) => a * b, 1);
    }
    const kw = graphKernelWork(graph, hw);
    w.nchwc_reorder_bytes = kw.nchwc_reorder_bytes;
    // the same columns for every configuration of a module
    for (const g of ['', '_g']) for (const k of [1, 2, 3, 4, 5, 7]) for (const s of [1, 2]) w[`macs_k${k}_s${s}${g}`] ??= 0;
    return Object.fromEntries(Object.entries(w).sort(([a], [b]) => (a < b ? -1 : 1)));
  },
  // the loop nest of MLAS's convolution kernels (src/regressors/kernels.ts) and the NCHWc reorders
  mlas(p, graph) {
    return { ...mlasConvWork(graph, hw), reorder_bytes: graphKernelWork(graph, hw).nchwc_reorder_bytes };
  },
};
const workOf = (variant, p, module) => (variant === 'shipped' ? {} : WORK[variant](p, getModule(module).build(p, 1, false)));

const store = new Store(benchDbPath());
// STATE=reference:5 (a machine-state method) holds the labels fixed while features change: each
// module's own choice is made with quick RMs over the features, so it moves with them
const fixedState = process.env.STATE ? parseStateMethod(process.env.STATE, 'STATE') : undefined;
const { dataOf } = await dataAtMachineState(store, modules, undefined, undefined, fixedState);
const fmt = (a) => `${(100 * a.within10).toFixed(1)} (MAPE ${a.mape.toFixed(1)})`;
for (const MODULE of modules) {
  const d = dataOf.get(MODULE)?.find((x) => x.s.id === 't1');
  if (!d) throw new Error(`no ${MODULE} 1-thread training and test runs in ${benchDbPath()}`);
  const fs = featureSpace(getModule(MODULE), featureOptionsFor('ort-cpu'));
  const { train, val } = splitRows(d.train, 0.2, 1);
  const trained = new Set(d.train.map((r) => r.params_json));
  const test = d.test.filter((r) => !trained.has(r.params_json));
  console.log(`\n${MODULE}, ort-cpu 1 thread: train ${train.length}, validation ${val.length}, test ${test.length}${TEST ? '' : ' (not shown)'}; machine state ${JSON.stringify(d.state)}`);
  console.log(`| variant | RM | validation ±10 % (MAPE %) |${TEST ? ' test ±10 % (MAPE %) |' : ''}`);
  console.log(`| --- | --- | --- |${TEST ? ' --- |' : ''}`);
  for (const variant of variants) {
    const enc = (r) => {
      const p = JSON.parse(r.params_json);
      const w = workOf(variant, p, MODULE);
      return { x: [...fs.encode(r), ...Object.values(w).map(Math.log1p)], w: [1, ...Object.values(w), r.input_bytes, r.output_bytes, r.flops] };
    };
    const [tr, va, te] = [train, val, test].map((rows) => rows.map(enc));
    const ytr = train.map((r) => r.latency_ms);
    for (const kind of kinds) {
      let predict;
      if (kind === 'additive' || kind === 'additive+gbt') {
        const coef = fitNonNegativeRelative(tr.map((e) => e.w), ytr, 1e-6);
        const add = (e) => Math.max(1e-6, e.w.reduce((s, v, j) => s + v * coef[j], 0));
        predict = (rows) => rows.map(add);
        if (kind === 'additive+gbt') {
          // trees on the log residual of the additive model, over the same features plus its log answer
          const g = createGbt(1);
          const X = tr.map((e) => [...e.x, Math.log(add(e))]);
          g.fit(X, ytr.map((y, i) => y / add(tr[i])));
          predict = (rows) => g.predict(rows.map((e) => [...e.x, Math.log(add(e))])).map((f, i) => f * add(rows[i]));
        }
      } else {
        const rm = getRegressorKind(kind).create(1);
        // the feature space's work columns (a prefix of every variant's vector) for the additive RM
        await rm.fit(tr.map((e) => e.x), ytr, { additiveColumns: fs.additiveColumns });
        predict = (rows) => rm.predict(rows.map((e) => e.x));
      }
      const pv = predict(va);
      const a = accuracy(pv, val.map((r) => r.latency_ms));
      if (BY_CLASS) {
        // validation ±10 % per kernel class of the module's convolutions
        const by = new Map();
        val.forEach((r, i) => {
          const c = kernelClass(getModule(MODULE).build(JSON.parse(r.params_json), 1, false));
          const e = by.get(c) ?? { n: 0, ok: 0 };
          e.n++;
          if (Math.abs(pv[i] / r.latency_ms - 1) <= 0.1) e.ok++;
          by.set(c, e);
        });
        console.log(`|  | by class: ${[...by].map(([c, e]) => `${c} ${((100 * e.ok) / e.n).toFixed(0)} % of ${e.n}`).join(', ')} |`);
      }
      const b = TEST ? accuracy(predict(te), test.map((r) => r.latency_ms)) : undefined;
      console.log(`| ${variant} | ${kind} | ${fmt(a)} |${b ? ` ${fmt(b)} |` : ''}`);
    }
  }
}
