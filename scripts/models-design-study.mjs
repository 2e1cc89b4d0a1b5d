// Calibration designs beyond bench:models' variants, judged as bench:models judges them (5-fold CV
// over the calibration networks, stratified by family, with the GBT in-graph correction refitted
// per fold, plus the validation networks; never the test networks), from the bench store alone (no
// measurement). Run after `npm run build` and `npm run bench:models`:
//   node scripts/models-design-study.mjs [t1|t2]
// Every design is a non-negative relative fit (fitNonNegativeRelative, as fitCalibration) over
// features of a network's kernel predictions; 'blend' averages two designs' predictions.
// Options (environment): DEFLATE=1|<µs> (profiler cost off the profiled nodes: 'gbt-net');
// ATTRIBUTE=net|prop|mix (each network's nodes brought to its end-to-end latency; mix with
// DEFLATE=1 is the product's 'gbt-e2e'); OP_RIDGE=λ,… (the product's 'modules+layout+ops' per
// ridge); BINS=5,20;… (kernel-size bins); RESID_GBT=1 (a second stage over network features);
// T1RATIO=1 (2 threads from the 1-thread in-graph estimates); OTHER=t1; ORACLE=1; SHRINK=λ,…;
// CONSISTENT=<spread>; CALIB_PER_FAMILY=n; DIAG=<design prefix>; SHOW_FACTORS=1; DUMP=<design>;
// VIEWS_NONNEG=1 (the product's designs with the per-view price kept ≥ 0); FACTOR_RIDGE=λ,… (the product's
// design with its factors pulled toward 1); IG_ALIGN=0 (the in-graph trees without the channels' alignment);
// OUTPUTS=0|1 (the product's calibrations without / with the price per MB of model outputs);
// FLAT_DW=area|rows (how depthwise convolutions on flat maps are priced, in place of the device's fusion table's).
import { Store } from '../dist/store/db.js';
import { WholeModelPredictor, settingKey } from '../dist/wholemodel/predictor.js';
import { collectionModels } from '../dist/bench/models-measure.js';
import { MODEL_SETTINGS, modelsDbPath } from '../dist/bench/models-data.js';
import { fusionTable } from '../dist/wholemodel/fusion.js';
import { estimateProfilerCost, fitInGraph, inGraphPairs } from '../dist/wholemodel/ingraph.js';
import { fitNonNegativeRelative, solveRidge } from '../dist/regressors/ridge.js';
import { familyFolds, medianRuns, profileAtNominal, profilesAtMachineState, runsAtChosenWindow } from '../dist/wholemodel/calibrate.js';

const s = MODEL_SETTINGS.find((x) => x.id === (process.argv[2] ?? 't2'));
const FOLDS = 5;
const store = new Store(modelsDbPath());
const key = settingKey(s);
const predictor = WholeModelPredictor.open(store, s, { calibration: false });
const nominal = predictor.nominalProbeMs;
const { window, runs: atState } = runsAtChosenWindow(store, key);
const runs = medianRuns(atState.filter((r) => r.collection === 'calib' || r.collection === 'val'), nominal);
const profiles = profilesAtMachineState(store.nodeProfiles('calib', key), window.windowS);
// CALIB_PER_FAMILY=n: only the first n calibration networks of each family (a learning curve)
const perFamilyCap = Number(process.env.CALIB_PER_FAMILY ?? Infinity);
const seen = new Map();
const calib = collectionModels('calib', s).filter((m) => profiles.has(m.name) && runs.has(m.name)).filter((m) => { const n = (seen.get(m.family) ?? 0) + 1; seen.set(m.family, n); return n <= perFamilyCap; });
const val = collectionModels('val', s).filter((m) => runs.has(m.name));
const truth = (m) => runs.get(m.name).measuredMs;
// how far a network's passes spread (max / min, at the machine state): CONSISTENT=1.1 fits the
// calibration only on networks whose passes agree that well (judged on every network all the same)
const spread = new Map();
for (const r of atState) {
  if (r.collection !== 'calib' && r.collection !== 'val') continue;
  const v = r.latencyMs / r.probeMs;
  const x = spread.get(r.model) ?? [Infinity, 0];
  spread.set(r.model, [Math.min(x[0], v), Math.max(x[1], v)]);
}
const spreadOf = (m) => { const [lo, hi] = spread.get(m.name); return hi / lo; };
const CONSISTENT = Number(process.env.CONSISTENT ?? Infinity);
const loaded = new Map([...calib, ...val].map((m) => [m.name, m.load().imported]));
// DEFLATE=1: take the profiler's own per-node cost off every profiled node before the in-graph
// correction learns from them (per node: Σ profiled − end-to-end over the calibration networks,
// regressed on their node counts); DEFLATE=<µs> uses that cost instead
const profilerCostMs = (() => {
  if (!process.env.DEFLATE) return 0;
  if (process.env.DEFLATE !== '1') return Number(process.env.DEFLATE) / 1000;
  return estimateProfilerCost(calib.map((m) => {
    const nodes = profileAtNominal(profiles.get(m.name), nominal);
    return { nodes: nodes.length, profiledMs: nodes.reduce((a, v) => a + v.ms, 0), measuredMs: truth(m) };
  }));
})();
const FLOOR = Number(process.env.DEFLATE_FLOOR ?? 0.1);
const deflated = (nodes) => (profilerCostMs ? nodes.map((v) => ({ ...v, ms: Math.max(v.ms - profilerCostMs, FLOOR * v.ms) })) : nodes);
if (profilerCostMs) console.log(`profiled nodes deflated by ${(profilerCostMs * 1000).toFixed(2)} µs each (floor ${FLOOR} of the node)`);
// ATTRIBUTE=net|prop: each calibration network's profiled nodes brought to its own end-to-end
// latency before the trees learn from them — less one cost per node of that network (net), or
// scaled (prop) — so that every network's targets add up to what it measured
const attributed = (m, nodes) => {
  const mode = process.env.ATTRIBUTE;
  if (!mode) return deflated(nodes);
  const sum = nodes.reduce((a, v) => a + v.ms, 0);
  const e2e = truth(m);
  if (mode === 'prop') return nodes.map((v) => ({ ...v, ms: (v.ms * e2e) / sum }));
  if (mode === 'mix') {
    // the global profiler cost off each node, then the rest of the gap shared in proportion: the
    // product's attributeToMeasured, written out as it was when the figures in models-history.md
    // were taken (it multiplies by e2e / sum instead: the same up to rounding, which moves trees)
    const d = deflated(nodes);
    const dsum = d.reduce((a, v) => a + v.ms, 0);
    return d.map((v) => ({ ...v, ms: (v.ms * e2e) / dsum }));
  }
  const c = (sum - e2e) / nodes.length;
  return nodes.map((v) => ({ ...v, ms: Math.max(v.ms - c, FLOOR * v.ms) }));
};
const fusion = process.env.FLAT_DW ? { ...fusionTable(s.device), flatDepthwise: process.env.FLAT_DW } : undefined;
if (fusion) console.log(`depthwise convolutions on flat maps priced as '${fusion.flatDepthwise}'`);
const pairsOf = new Map(calib.map((m) => [m.name, inGraphPairs(predictor.kernelPredictions(loaded.get(m.name), { inGraph: null, fusion }), attributed(m, profileAtNominal(profiles.get(m.name), nominal)))]));
const foldOf = familyFolds(calib, FOLDS);
// kernel predictions per fold (GBT fitted without the fold's networks) and with all calibration networks
const inGraphOptions = { alignment: process.env.IG_ALIGN !== '0' };
const kernelsFor = (ig, ms) => new Map(ms.map((m) => [m.name, predictor.kernelPredictions(loaded.get(m.name), { inGraph: ig, fusion })]));
const foldKernels = Array.from({ length: FOLDS }, (_, f) => kernelsFor(fitInGraph(calib.filter((m) => foldOf.get(m.name) !== f).flatMap((m) => pairsOf.get(m.name)), 'gbt', 0, inGraphOptions), calib));
const fullKernels = kernelsFor(fitInGraph([...pairsOf.values()].flat(), 'gbt', 0, inGraphOptions), [...calib, ...val]);
console.log(`${key}: ${calib.length} calibration + ${val.length} validation networks, probe window ±${window.windowS} s`);

const GROUP_OF = (k) => (isOther(k) ? null : k.group);
const MODULE_OF = (k) => (isOther(k) ? null : k.group === 'roofline' ? 'roofline' : k.module ?? k.group);
const WITH_OTHER = (k) => k.group;
const ONLY_OTHER = (k) => (isOther(k) ? k.group : null);
const OTHER_MODULES = (k) => (isOther(k) ? `o:${k.module ?? k.group}` : null);
const OP_OF = (k) => k.kernel.op;
/** features: [1, compute kernels, views, ...extras, Σ raw ms per key] */
function featurize(kernels, keyOf, extras, keys) {
  const sums = new Map();
  let compute = 0;
  let views = 0;
  for (const k of kernels) {
    if (k.group === 'free') { views++; continue; }
    if (!isOther(k)) compute++;
    const key = keyOf(k);
    if (key === null) continue;
    sums.set(key, (sums.get(key) ?? 0) + k.rawMs);
  }
  return [1, compute, views, ...extras(kernels), ...keys.map((x) => sums.get(x) ?? 0)];
}
const layout = (ks) => [ks.reduce((a, k) => a + k.kernel.reorderBytes / 1e6, 0), ks.reduce((a, k) => a + k.kernel.reorders, 0)];
const none = () => [];
/** per op type, the count of compute kernels (dispatch cost per op type) */
const OPS = [...new Set([...fullKernels.values()].flatMap((ks) => ks.filter((k) => k.group !== 'free' && !isOther(k)).map(OP_OF)))].sort();
const opCounts = (ks) => OPS.map((op) => ks.filter((k) => k.group !== 'free' && !isOther(k) && OP_OF(k) === op).length);
const small = (ks) => [ks.filter((k) => k.group !== 'free' && !isOther(k) && k.rawMs < 0.01).length];

function linearDesign(keyOf, extras) {
  return {
    fit(rows) {
      const keys = [...new Set(rows.flatMap((r) => r.kernels.filter((k) => k.group !== 'free').map(keyOf)))].filter((k) => k !== null).sort();
      const X = rows.map((r) => featurize(r.kernels, keyOf, extras, keys));
      const signed = new Set([1, 2, ...extras(rows[0].kernels).map((_, i) => 3 + i)]);
      const w = fitNonNegativeRelative(X, rows.map((r) => r.ms), 1e-6, signed);
      if (process.env.SHOW_FACTORS && rows.length > 150) console.log(`    weights: overhead ${w[0].toFixed(4)}, per kernel ${w[1].toFixed(5)}, per view ${w[2].toFixed(5)}, extras ${w.slice(3, w.length - keys.length).map((x) => x.toFixed(5)).join(' ')}; ${keys.map((k, i) => `${k} ${w[w.length - keys.length + i].toFixed(2)}`).join(', ')}`);
      return (kernels) => featurize(kernels, keyOf, extras, keys).reduce((a, x, i) => a + x * w[i], 0);
    },
  };
}
/**
 * As linearDesign, with the per-key factors shrunk towards 1 instead of fitted freely: minimises the
 * relative error plus λ·Σ((factor − 1)·scale)² (scale: the key's mean share of a network's time), so a
 * key whose share is small or that co-occurs with others (GlobalAveragePool in squeeze-excite
 * blocks) keeps the in-graph prediction unless the networks insist. Overhead ≥ 0, per-kernel and
 * per-view terms signed and unpenalised, factors ≥ 0 (active set, as fitNonNegativeRelative).
 */
function shrunkDesign(keyOf, extras, lambda) {
  return {
    fit(rows) {
      const keys = [...new Set(rows.flatMap((r) => r.kernels.filter((k) => k.group !== 'free').map(keyOf)))].filter((k) => k !== null).sort();
      const X = rows.map((r) => featurize(r.kernels, keyOf, extras, keys));
      const y = rows.map((r) => r.ms);
      const d = X[0].length;
      const first = d - keys.length;
      const signed = new Set([1, 2, ...extras(rows[0].kernels).map((_, i) => 3 + i)]);
      const scale = Array.from({ length: d }, (_, j) => Math.max(1e-30, X.reduce((a, r, i) => a + Math.abs(r[j] / y[i]), 0) / X.length));
      // unpenalised columns: blown up so that λ on their (tiny) scaled weight is nothing
      const BIG = 1e4;
      const active = new Set(Array.from({ length: d }, (_, j) => j));
      let w = new Array(d).fill(0);
      for (let iter = 0; iter <= d && active.size; iter++) {
        const cols = [...active];
        const Z = X.map((r, i) => cols.map((j) => (r[j] / y[i] / scale[j]) * (j < first ? BIG : 1)));
        // target: 1 − Σ active factor columns (their weight is 1 + u, u shrunk to 0)
        const t = X.map((r, i) => 1 - cols.filter((j) => j >= first).reduce((a, j) => a + r[j] / y[i], 0));
        const sol = solveRidge(Z, t, lambda);
        w = new Array(d).fill(0);
        cols.forEach((j, k) => (w[j] = j < first ? (sol[k] * BIG) / scale[j] : 1 + sol[k] / scale[j]));
        const neg = cols.filter((j) => w[j] < 0 && !signed.has(j));
        if (!neg.length) break;
        for (const j of neg) { active.delete(j); w[j] = 0; }
      }
      if (process.env.SHOW_FACTORS && rows.length > 150) console.log(`    λ ${lambda}: ${keys.map((k, i) => `${k} ${w[first + i].toFixed(2)}`).join(', ')}; overhead ${w[0].toFixed(3)}`);
      return (kernels) => featurize(kernels, keyOf, extras, keys).reduce((a, x, i) => a + x * w[i], 0);
    },
  };
}
// the product's own calibration (fitCalibration), a variant and options: OP_RIDGE=λ,… adds 'modules+layout+ops' per λ
const { fitCalibration, applyCalibration } = await import('../dist/wholemodel/calibration.js');
const outputsOption = process.env.OUTPUTS ? { outputs: process.env.OUTPUTS !== '0' } : {};
const productDesign = (variant, o = {}) => ({
  fit(rows) {
    const c = fitCalibration(rows.map((r) => ({ kernels: r.kernels, measuredMs: r.ms })), variant, undefined, { ...outputsOption, ...o });
    if (process.env.SHOW_FACTORS && rows.length > 150 && c.perOpMs) console.log(`    ${variant} ${JSON.stringify(o)}: per op ${Object.entries(c.perOpMs).map(([k, v]) => `${k} ${(v * 1000).toFixed(1)}`).join(', ')}`);
    return (kernels) => applyCalibration(c, kernels.map((k) => ({ ...k }))).totalMs;
  },
});
const blend = (...ds) => ({
  fit(rows) {
    const ps = ds.map((d) => d.fit(rows));
    return (kernels) => Math.exp(ps.reduce((a, p) => a + Math.log(Math.max(1e-6, p(kernels))), 0) / ps.length);
  },
});

// T1RATIO=1 (on t2): every module kernel at the 1-thread in-graph estimate (t1's stored correction)
// times its standalone 2-thread / 1-thread ratio: the 2-thread profiles are not used at all
if (process.env.T1RATIO) {
  const t1 = MODEL_SETTINGS.find((x) => x.id === 't1');
  const p1 = WholeModelPredictor.open(store, t1, { calibration: false });
  const mix = (m) => {
    const k1 = p1.kernelPredictions(loaded.get(m.name));
    const s1 = p1.kernelPredictions(loaded.get(m.name), { inGraph: null });
    const s2 = predictor.kernelPredictions(loaded.get(m.name), { inGraph: null });
    const mode = process.env.T1RATIO;
    return s2.map((k, i) => (k.source.startsWith('rm:') && s1[i].rawMs > 0 ? { ...k, rawMs: k1[i].rawMs * (mode === 'sqrt' ? Math.sqrt(k.rawMs / s1[i].rawMs) : k.rawMs / s1[i].rawMs) } : k));
  };
  const mixed = new Map([...calib, ...val].map((m) => [m.name, mix(m)]));
  for (let f = 0; f < FOLDS; f++) foldKernels[f] = mixed;
  for (const [n, ks] of mixed) fullKernels.set(n, ks);
  console.log('T1RATIO: 1-thread in-graph estimates × standalone t2/t1 ratio');
}
// OTHER=t1: the other setting's kernel predictions (its stored GBT in-graph correction) as extra features
const other = process.env.OTHER ? MODEL_SETTINGS.find((x) => x.id === process.env.OTHER) : undefined;
const otherKernels = other ? (() => {
  const p = WholeModelPredictor.open(store, other, { calibration: false });
  return new Map([...calib, ...val].map((m) => [m.name, p.kernelPredictions(loaded.get(m.name))]));
})() : undefined;
if (otherKernels) {
  const tag = (m, ks) => [...ks, ...otherKernels.get(m).filter((k) => k.group !== 'free').map((k) => ({ ...k, group: `o:${k.group}`, kernel: { ...k.kernel, reorderBytes: 0, reorders: 0 } }))];
  for (const fk of foldKernels) for (const [m, ks] of fk) fk.set(m, tag(m, ks));
  for (const [m, ks] of fullKernels) fullKernels.set(m, tag(m, ks));
}
function isOther(k) { return k.group.startsWith('o:'); }
// RESID_GBT=1: a second stage, shallow boosted trees on the log ratio truth / design over network-level features
const { createGbt } = await import('../dist/regressors/gbt.js');
function netFeatures(ks) {
  const c = ks.filter((k) => k.group !== 'free' && !isOther(k));
  const tot = c.reduce((a, k) => a + k.rawMs, 0);
  const by = (g) => c.filter((k) => k.group === g).reduce((a, k) => a + k.rawMs, 0) / tot;
  let trans = 0;
  for (let i = 1; i < c.length; i++) if (c[i - 1].rawMs < 0.01 && c[i].rawMs >= 0.01) trans++;
  return [Math.log(tot), c.length, c.filter((k) => k.rawMs < 0.01).length / c.length, by('conv'), by('dwconv'), by('dense'), by('other'), by('roofline'), Math.log(tot / c.length), trans / c.length, ks.filter((k) => k.group === 'free').length / c.length];
}
const residualGbt = (d, o) => ({
  fit(rows) {
    const p = d.fit(rows);
    const X = rows.map((r) => netFeatures(r.kernels));
    const g = createGbt(7, { maxDepth: 2, minLeaf: 10, learningRate: 0.05, maxTrees: 300, patience: 40, ...o });
    g.fit(X, rows.map((r) => r.ms / p(r.kernels)));
    return (kernels) => p(kernels) * g.predict([netFeatures(kernels)])[0];
  },
});
const designs = {
  'groups+layout (bench choice)': linearDesign(GROUP_OF, layout),
  modules: linearDesign(MODULE_OF, none),
  ...Object.fromEntries((process.env.SHRINK ?? '').split(',').filter(Boolean).flatMap((l) => [
    [`modules shrunk to 1, λ ${l}`, shrunkDesign(MODULE_OF, none, Number(l))],
    [`groups+layout shrunk to 1, λ ${l}`, shrunkDesign(GROUP_OF, layout, Number(l))],
  ])),
  'modules+layout': linearDesign(MODULE_OF, layout),
  'groups+layout+op counts': linearDesign(GROUP_OF, (ks) => [...layout(ks), ...opCounts(ks)]),
  'modules+layout+op counts': linearDesign(MODULE_OF, (ks) => [...layout(ks), ...opCounts(ks)]),
  'groups+layout+small kernels': linearDesign(GROUP_OF, (ks) => [...layout(ks), ...small(ks)]),
  'modules+layout+small kernels': linearDesign(MODULE_OF, (ks) => [...layout(ks), ...small(ks)]),
  ...(process.env.BINS ? Object.fromEntries(process.env.BINS.split(';').map((b) => {
    const edges = b.split(',').map(Number).map((x) => x / 1000);
    const counts = (ks) => edges.map((e, i) => ks.filter((k) => k.group !== 'free' && !isOther(k) && k.rawMs < e && (i === 0 || k.rawMs >= edges[i - 1])).length);
    return [`modules+layout+bins ${b}`, linearDesign(MODULE_OF, (ks) => [...layout(ks), ...counts(ks)])];
  })) : {}),
  ...(otherKernels ? {
    'groups+layout + other groups': linearDesign(WITH_OTHER, layout),
    'other setting groups+layout only': linearDesign(ONLY_OTHER, layout),
    'other setting modules+layout only': linearDesign(OTHER_MODULES, layout),
    'blend groups+layout, other groups+layout': blend(linearDesign(GROUP_OF, layout), linearDesign(ONLY_OTHER, layout)),
  } : {}),
  ...(process.env.RESID_GBT ? {
    'modules+layout+small + resid GBT d2': residualGbt(linearDesign(MODULE_OF, (ks) => [...layout(ks), ...small(ks)])),
    'modules+layout+small + resid GBT d1': residualGbt(linearDesign(MODULE_OF, (ks) => [...layout(ks), ...small(ks)]), { maxDepth: 1 }),
    'modules+layout+small + resid GBT d3': residualGbt(linearDesign(MODULE_OF, (ks) => [...layout(ks), ...small(ks)]), { maxDepth: 3, minLeaf: 8 }),
  } : {}),
  ...Object.fromEntries((process.env.OP_RIDGE ?? '').split(',').filter(Boolean).map((l) => [`product modules+layout+ops, op ridge ${l}`, productDesign('modules+layout+ops', { opRidge: Number(l) })])),
  ...(process.env.OP_RIDGE ? { 'product modules+layout+small': productDesign('modules+layout+small') } : {}),
  ...Object.fromEntries((process.env.FACTOR_RIDGE ?? '').split(',').filter(Boolean).map((l) => [`product modules+layout+ops, factor ridge ${l}`, productDesign('modules+layout+ops', { factorRidge: Number(l) })])),
  ...(process.env.VIEWS_NONNEG ? { 'product modules+layout+ops, views >= 0': productDesign('modules+layout+ops', { viewsNonNegative: true }), 'product modules+layout+small, views >= 0': productDesign('modules+layout+small', { viewsNonNegative: true }) } : {}),
  'blend groups+layout, modules': blend(linearDesign(GROUP_OF, layout), linearDesign(MODULE_OF, none)),
  'blend groups+layout, modules+layout': blend(linearDesign(GROUP_OF, layout), linearDesign(MODULE_OF, layout)),
};

// the ceiling of per-kernel estimates: every profiled kernel at its own measured in-graph time
// (calibration networks only; CV). A kernel the profile missed keeps its corrected estimate.
if (process.env.ORACLE) {
  const oracle = new Map(calib.map((m) => {
    const measured = new Map(inGraphPairs(fullKernels.get(m.name), profileAtNominal(profiles.get(m.name), nominal)).map((p) => [p.kernel, p.inGraphMs]));
    return [m.name, fullKernels.get(m.name).map((k) => ({ ...k, rawMs: measured.get(k.kernel) ?? k.rawMs }))];
  }));
  for (let f = 0; f < FOLDS; f++) foldKernels[f] = oracle;
  for (const m of calib) fullKernels.set(m.name, oracle.get(m.name));
  console.log('ORACLE: kernels at their profiled in-graph times (CV column only is meaningful)');
}
const w10 = (xs) => (100 * xs.filter((x) => Math.abs(x - 1) <= 0.1).length) / xs.length;
const w5 = (xs) => (100 * xs.filter((x) => Math.abs(x - 1) <= 0.05).length) / xs.length;
const rmspe = (xs) => 100 * Math.sqrt(xs.reduce((a, x) => a + (x - 1) ** 2, 0) / xs.length);
console.log(`networks whose passes agree within 1.1x: calib ${calib.filter((m) => spreadOf(m) <= 1.1).length}/${calib.length}, val ${val.filter((m) => spreadOf(m) <= 1.1).length}/${val.length}; fitting on spread <= ${CONSISTENT}`);
console.log('design                                    CV+val ±10 %  ±5 %   RMSPE   | CV ±10 %  val ±10 % | steady ±10 %');
for (const [name, d] of Object.entries(designs)) {
  const cv = [];
  const cvNames = [];
  for (let f = 0; f < FOLDS; f++) {
    const p = d.fit(calib.filter((m) => foldOf.get(m.name) !== f && spreadOf(m) <= CONSISTENT).map((m) => ({ kernels: foldKernels[f].get(m.name), ms: truth(m) })));
    for (const m of calib.filter((x) => foldOf.get(x.name) === f)) { cv.push(p(foldKernels[f].get(m.name)) / truth(m)); cvNames.push(m); }
  }
  const p = d.fit(calib.filter((m) => spreadOf(m) <= CONSISTENT).map((m) => ({ kernels: fullKernels.get(m.name), ms: truth(m) })));
  const v = val.map((m) => p(fullKernels.get(m.name)) / truth(m));
  const all = [...cv, ...v];
  const judged = cvNames.concat(val);
  const steady = all.filter((_, i) => spreadOf(judged[i]) <= 1.1);
  if (process.env.DIAG && name.startsWith(process.env.DIAG === '1' ? 'groups+layout (' : process.env.DIAG)) diagnose(cvNames.concat(val), all);
  if (process.env.DUMP && name === process.env.DUMP) (await import('node:fs')).writeFileSync(`/tmp/resid-${s.id}.json`, JSON.stringify(Object.fromEntries(cvNames.concat(val).map((m, i) => [m.name, all[i]]))));
  console.log(`${name.padEnd(42)} ${w10(all).toFixed(1).padStart(6)}      ${w5(all).toFixed(1).padStart(5)}  ${rmspe(all).toFixed(2).padStart(6)}   | ${w10(cv).toFixed(1).padStart(6)}   ${w10(v).toFixed(1).padStart(6)}    | ${w10(steady).toFixed(1).padStart(6)} (${steady.length})`);
}
store.close();

/** where the chosen design errs: per family, and how the log ratio follows network features */
function diagnose(models, ratios) {
  const fams = [...new Set(models.map((m) => m.family))];
  for (const f of fams) {
    const r = ratios.filter((_, i) => models[i].family === f).sort((a, b) => a - b);
    console.log(`  ${f.padEnd(14)} n ${r.length}  ±10 % ${w10(r).toFixed(0).padStart(3)}  median ratio ${r[r.length >> 1].toFixed(3)}  RMSPE ${rmspe(r).toFixed(1)}`);
  }
  const feats = {
    'log measured ms': (m) => Math.log(truth(m)),
    'compute kernels': (m) => kern(m).filter((k) => k.group !== 'free').length,
    'log mean kernel ms': (m) => { const ks = kern(m).filter((k) => k.group !== 'free'); return Math.log(ks.reduce((a, k) => a + k.rawMs, 0) / ks.length); },
    'share conv': (m) => share(m, 'conv'),
    'share dwconv': (m) => share(m, 'dwconv'),
    'share dense': (m) => share(m, 'dense'),
    'share other': (m) => share(m, 'other'),
    'reorder MB': (m) => kern(m).reduce((a, k) => a + k.kernel.reorderBytes / 1e6, 0),
    'share of kernels < 10 µs': (m) => { const ks = kern(m).filter((k) => k.group !== 'free'); return ks.filter((k) => k.rawMs < 0.01).length / ks.length; },
    'weight MB': (m) => kern(m).reduce((a, k) => a + k.kernel.weightBytes / 1e6, 0),
    'activation MB': (m) => kern(m).reduce((a, k) => a + (k.kernel.bytes - k.kernel.weightBytes) / 1e6, 0),
  };
  const y = ratios.map(Math.log);
  for (const [n, f] of Object.entries(feats)) {
    const x = models.map(f);
    console.log(`  corr(log ratio, ${n}) = ${corr(x, y).toFixed(3)}`);
  }
}
function kern(m) { return fullKernels.get(m.name); }
function share(m, g) { const ks = kern(m); const t = ks.reduce((a, k) => a + k.rawMs, 0); return ks.filter((k) => k.group === g).reduce((a, k) => a + k.rawMs, 0) / t; }
function corr(x, y) {
  const mx = x.reduce((a, b) => a + b, 0) / x.length, my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy || 1);
}
