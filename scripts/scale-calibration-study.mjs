// The session-19 study behind ADDITIVE_CALIBRATION (reports/scale-history.md): calibration variants
// of the (DNN, device) pair predictor and their design regret, judged on the validation devices and
// each training device by a predictor trained without it — the protocol of bench:scale section 4.
//   npm run build && node scripts/scale-calibration-study.mjs
//   SPACE=fbnet VARIANTS=default,new,msbt node scripts/scale-calibration-study.mjs
// Variants: 'default' (the network's calibration alone), 'new' (PairPredictor.forDevice as shipped),
// 'tower' (+ a residual ridge over the architecture tower's outputs), 'ms<kind>' (a ridge in ms over
// p = the network's answer, c = op counts, t = the training devices' tables), 'msb<kind>' (that
// ridge blended with the network by leave-one-out error), 'bl-<rule>' (blend weight/spread rules).
// 'shr<n0>': the shipped calibration with its spread shrunk towards SHRINK_TO (session 28).
// 'bx-ls|rel|nn|relnn': the shipped blend with other fits of the additive model (session 34).
// 'st-min|loo': the two opinions blended by the weight minimising the blend's leave-one-out error (session 35).
// FOCUS=k: pair predictors trained with the top 10 % of architectures by the objective drawn k + 1 times as often (session 47).
// UTILITY=1: decisions by expected utility (accuracy − λ × P(break)) instead of a margin (session 47).
// DETAIL=1 lists each decision; TEST=1 evaluates the test devices (never for choosing).
// MEMBERS=2 trains the pair predictors with that many averaged tower pairs (PairPredictorOptions.members;
// ~10 min the first time); CANDS=512,1024,15625 sets the optimiser candidate counts of the rule grid
// (15625 on NB201: every architecture, the table walked most accurate first).
// Trained networks are cached in .latencylab/scale-study/ (~6 min the first time).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadLatencyData, requireDevice } from '../dist/data/latency.js';
import { byAccuracy } from '../dist/nas/evolution.js';
import { decideDesign } from '../dist/scale/design.js';
import { budgetsAt, judgeChoice, latencyMetrics } from '../dist/scale/evaluate.js';
import { deviceFeatures, opCounts } from '../dist/scale/features.js';
import { DesignOptimiser, nextMemberBy } from '../dist/scale/optimiser.js';
import { PairPredictor, fitOpCosts } from '../dist/scale/pair.js';
import { fitRidge, solveGram } from '../dist/regressors/ridge.js';
import { getTask, validationDevices } from '../dist/transfer/tasks.js';
import { Rng } from '../dist/util/random.js';
import { mean } from '../dist/util/stats.js';
import { loadTfjsWasm } from '../dist/runtimes/tfjs.js';

const log = (s) => process.stderr.write(s + '\n');
await loadTfjsWasm?.();
const SPACE = process.env.SPACE ?? 'nb201';
const nb201 = loadLatencyData(SPACE);
const help = getTask(`${SPACE}-help`);
const val = validationDevices(help, nb201.devices);
const rng = new Rng(11);
const allArchs = rng.shuffle([...nb201.ops.keys()]);
const trainArchs = SPACE === 'nb201' ? allArchs.slice(Math.round(allArchs.length * 0.2)) : undefined;
mkdirSync('.latencylab/scale-study', { recursive: true });
async function cached(name, make, from) {
  const f = `.latencylab/scale-study/${SPACE}-${name}.json`;
  if (existsSync(f)) return from(JSON.parse(readFileSync(f, 'utf8')));
  log(`training ${name}`);
  const m = await make();
  writeFileSync(f, JSON.stringify(m.state));
  return m;
}
const pairFrom = (s) => PairPredictor.fromState(nb201, s);
// MEMBERS=2: pair predictors with that many averaged tower pairs (PairPredictorOptions.members)
const MEMBERS = Number(process.env.MEMBERS ?? 1);
// FOCUS=k (session 47): the pair predictors trained with the most accurate 10 % of their
// architectures drawn k + 1 times as often as the rest (designs are decided among accurate ones)
const FOCUS = Number(process.env.FOCUS ?? 0);
const tag = `${MEMBERS > 1 ? `-m${MEMBERS}` : ''}${FOCUS ? `-f${FOCUS}` : ''}`;
const focused = (() => {
  if (!FOCUS) return trainArchs;
  const base = trainArchs ?? [...nb201.ops.keys()];
  const obj = SPACE === 'nb201' ? nb201.accuracy : nb201.proxies.values.map((v) => v[nb201.proxies.names.indexOf('zen')]);
  const top = [...base].sort((a, b) => obj[b] - obj[a]).slice(0, Math.round(base.length * 0.1));
  return [...base, ...Array.from({ length: FOCUS }, () => top).flat()];
})();
const pair = await cached(`pair${tag}`, () => PairPredictor.train(nb201, help.train, { steps: 3000, archs: focused, members: MEMBERS }), pairFrom);
const objective = SPACE === 'nb201' ? { name: 'acc', values: nb201.accuracy } : { name: 'zen', values: nb201.proxies.values.map((v) => v[nb201.proxies.names.indexOf('zen')]) };
nb201.accuracy = objective.values;
const opt = await cached('opt', () => DesignOptimiser.train(nb201, help.train, objective, { steps: 3000 }), (s) => DesignOptimiser.fromState(nb201, s));
const loo = new Map();
for (const d of help.train) loo.set(d, await cached(`loo-${d}${tag}`, () => PairPredictor.train(nb201, help.train.filter((x) => x !== d), { steps: 1500, archs: focused, members: MEMBERS }), pairFrom));
const TEST = process.env.TEST === '1';
const devices = TEST ? help.test : [...val, ...help.train];
const predictorFor = (d) => (TEST || !loo.has(d) ? pair : loo.get(d));

/** the additive model on op counts (NB201), fitted on the references: its ridge, floor and answer in ms */
function opCountsFit(refLatMs) {
  const counts = (a) => { const c = [0, 0, 0, 0]; nb201.ops[a].forEach((op) => op > 0 && c[op - 1]++); return c; };
  const m = fitRidge(nb201.referenceArchs.map(counts), refLatMs, [1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);
  const floor = 0.1 * Math.min(...refLatMs);
  return { m, floor, predictMs: (a) => Math.max(m.predict(counts(a)), floor) };
}

const dot = (b, x) => b.reduce((acc, v, i) => acc + v * x[i], 0);
/** ridge by normal equations (column 0, the intercept, unpenalised); rel: rows weighted 1/y²; nn: negative costs dropped and refitted until none is left */
function weightedFit(X, y, lambda, rel, nn) {
  const p = X[0].length;
  let free = [...Array(p).keys()];
  for (let iter = 0; iter < p; iter++) {
    const A = free.map(() => new Array(free.length).fill(0)), r = new Array(free.length).fill(0);
    X.forEach((row, i) => { const w = rel ? 1 / (y[i] * y[i]) : 1; free.forEach((j, u) => { r[u] += w * row[j] * y[i]; free.forEach((k, v) => { A[u][v] += w * row[j] * row[k]; }); }); });
    const scale = rel ? 1 / (y.reduce((s, v) => s + v, 0) / y.length) ** 2 : 1;
    free.forEach((j, u) => { if (j !== 0) A[u][u] += lambda * scale; });
    // the project's solver (λ is already on the diagonal, intercept excepted)
    const sol = solveGram(Float64Array.from(A.flat()), r, free.length, 0);
    const b = new Array(p).fill(0); free.forEach((j, u) => { b[j] = sol[u]; });
    if (!nn) return b;
    const neg = free.filter((j) => j !== 0 && b[j] < 0);
    if (!neg.length) return b;
    free = free.filter((j) => !neg.includes(j));
  }
  throw new Error('nn fit did not settle');
}

// variant calibrations ---------------------------------------------------------------------
/** variant 'tower': after the default calibration, a ridge of the residual over the arch tower's outputs */
function calibrate(pp, refLatMs, variant) {
  if (variant === 'new') return pp.forDevice(refLatMs);
  // 'shr<n0>' (session 28): the shipped calibration, its spread shrunk towards SHRINK_TO (default
  // 0.09, about the validation devices' median) as if n0 more references had that spread
  if (variant.startsWith('shr')) {
    const dp = pp.forDevice(refLatMs);
    const n = nb201.referenceArchs.length, n0 = Number(variant.slice(3)), s0 = Number(process.env.SHRINK_TO ?? 0.09);
    return { ...dp, logSpread: Math.sqrt((n * dp.logSpread ** 2 + n0 * s0 ** 2) / (n + n0)) };
  }
  if (variant.startsWith('bl-')) {
    const net = pp.forDevice(refLatMs, { additive: false });
    const refs = nb201.referenceArchs;
    const { m, floor, predictMs: additiveMs } = opCountsFit(refLatMs);
    const msLoo = Math.sqrt(m.loo.reduce((s, p, i) => s + Math.log(Math.max(p, floor) / refLatMs[i]) ** 2, 0) / refs.length);
    const a = net.logSpread, b = msLoo;
    const kind = variant.slice(3);
    const w = kind === 'abs' ? a / (a + b) : kind === 'eq' ? 0.5 : kind === 'p4' ? a ** 4 / (a ** 4 + b ** 4) : a * a / (a * a + b * b);
    // the blend's own leave-one-out error: the additive fit's LOO predictions blended with the
    // network's (its calibration refitted without the reference is not available here: its
    // in-sample answer stands in, so this is optimistic for the network side)
    const honest = () => Math.sqrt(refs.reduce((acc, r, i) => acc + ((1 - w) * Math.log(net.predictMs(r)) + w * Math.log(Math.max(m.loo[i], floor)) - Math.log(refLatMs[i])) ** 2, 0) / refs.length);
    const spread = kind === 'honest' ? honest() : kind === 'comb' ? 1 / Math.sqrt(1 / a ** 2 + 1 / b ** 2) : kind === 'max' ? Math.max(a, b) : kind === 'wavg' ? (1 - w) * a + w * b : Math.min(a, b);
    const pm = (x) => Math.exp((1 - w) * Math.log(net.predictMs(x)) + w * Math.log(additiveMs(x)));
    return { features: net.features, logSpread: spread, predictMs: pm, predictLogMs: (x) => Math.log(pm(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, x) => pm(x)), lambda: w.toFixed(2) };
  }
  // 'bx-<fit>' (session 34): the shipped blend with another fit of the additive op-count model
  // (plain normal equations, λ by leave-one-out): 'ls' least squares, 'rel' in relative error (rows
  // weighted 1/y²), 'nn' op costs kept ≥ 0, 'relnn' both
  if (variant.startsWith('bx-')) {
    const net = pp.forDevice(refLatMs, { additive: false });
    const refs = nb201.referenceArchs;
    const fitKind = variant.slice(3);
    const counts = (a) => { const c = [0, 0, 0, 0]; nb201.ops[a].forEach((op) => op > 0 && c[op - 1]++); return c; };
    const X = refs.map((a) => [1, ...counts(a)]);
    const floor = 0.1 * Math.min(...refLatMs);
    const fit = (rows, ys, lambda) => weightedFit(rows, ys, lambda, fitKind.includes('rel'), fitKind.includes('nn'));
    let best;
    for (const lambda of [1e-3, 1e-2, 0.1, 1, 10, 100]) {
      const loo = refs.map((_, i) => dot(fit(X.filter((_, j) => j !== i), refLatMs.filter((_, j) => j !== i), lambda), X[i]));
      const err = Math.sqrt(loo.reduce((acc, p, i) => acc + Math.log(Math.max(p, floor) / refLatMs[i]) ** 2, 0) / refs.length);
      if (!best || err < best.err) best = { lambda, err, b: fit(X, refLatMs, lambda) };
    }
    const a = net.logSpread, b = best.err;
    const w = (a * a) / (a * a + b * b);
    const pm = (x) => Math.exp((1 - w) * Math.log(net.predictMs(x)) + w * Math.log(Math.max(dot(best.b, [1, ...counts(x)]), floor)));
    return { features: net.features, logSpread: Math.min(a, b), predictMs: pm, predictLogMs: (x) => Math.log(pm(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, x) => pm(x)), lambda: `w ${w.toFixed(2)} loo ${b.toFixed(3)} λ ${best.lambda}` };
  }
  // 'st-<spread>' (session 35): the shipped two opinions, blended with the weight that minimises
  // the blend's own leave-one-out log error over the references (both sides' leave-one-out
  // answers: the network's affine step and the op-cost fit), instead of inverse-square weights;
  // spread 'min' (as shipped) or 'loo' (the blend's leave-one-out error)
  if (variant.startsWith('st-')) {
    const refs = nb201.referenceArchs;
    const net = pp.forDevice(refLatMs, { additive: false });
    const f = deviceFeatures(refLatMs);
    const { net: raw } = pp.deviceNet(f);
    const netLog = (a) => f.scale + pp.state.target.mean + pp.state.target.sd * raw(a);
    const y = refLatMs.map(Math.log);
    const affine = fitRidge(refs.map((a) => [netLog(a)]), y, [1e-3, 1e-1, 1, 10]);
    const counts = opCounts(nb201);
    const add = fitOpCosts(refs.map((a) => Array.from(counts[a])), refLatMs);
    const floor = 0.1 * Math.min(...refLatMs);
    const nl = affine.loo, al = add.loo.map((p) => Math.log(Math.max(p, floor)));
    let num = 0, den = 0;
    refs.forEach((_, i) => { num += (y[i] - nl[i]) * (al[i] - nl[i]); den += (al[i] - nl[i]) ** 2; });
    const w = Math.min(1, Math.max(0, den > 0 ? num / den : 0));
    const blendLoo = Math.sqrt(mean(refs.map((_, i) => ((1 - w) * nl[i] + w * al[i] - y[i]) ** 2)));
    const a = Math.sqrt(mean(nl.map((p, i) => (p - y[i]) ** 2))), b = Math.sqrt(mean(al.map((p, i) => (p - y[i]) ** 2)));
    const spread = variant === 'st-loo' ? blendLoo : Math.min(a, b);
    const addMs = (x) => { let v = add.raw.intercept; counts[x].forEach((c, j) => (v += add.raw.weights[j] * c)); return Math.max(v, floor); };
    const pm = (x) => Math.exp((1 - w) * Math.log(net.predictMs(x)) + w * Math.log(addMs(x)));
    return { features: net.features, logSpread: spread, predictMs: pm, predictLogMs: (x) => Math.log(pm(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, x) => pm(x)), lambda: `w ${w.toFixed(2)} (inv-sq ${(a * a / (a * a + b * b)).toFixed(2)})` };
  }
  const base = pp.forDevice(refLatMs, { additive: false });
  if (variant === 'default') return base;
  if (variant.startsWith('ms')) return msCalibrate(pp, refLatMs, base, variant);
  const refs = nb201.referenceArchs;
  const y = refLatMs.map(Math.log);
  const { rows, stride } = pp.rows();
  const r1 = pp.state.towers.rank + 1;
  const cols = variant === 'tower' ? [...Array(r1).keys()] : variant === 'basis' ? [...Array(stride - r1).keys()].map((i) => i + r1) : [...Array(stride).keys()];
  const feat = (a) => cols.map((c) => rows[a * stride + c]);
  const res = refs.map((a, i) => y[i] - Math.log(base.predictMs(a)));
  const lambdas = (process.env.LAMBDAS ?? '1,10,100,1000,10000').split(',').map(Number);
  const m = fitRidge(refs.map(feat), res, lambdas);
  const predictMs = (a) => base.predictMs(a) * Math.exp(m.predict(feat(a)));
  let logSpread = base.logSpread;
  if (process.env.SPREAD === 'loo2') logSpread = Math.sqrt(m.loo.reduce((s, p, i) => s + (p - res[i]) ** 2, 0) / refs.length);
  return { features: base.features, logSpread, predictMs, predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, a) => predictMs(a)), lambda: m.lambda };
}

/** ms-space: y_ms ≈ c + w0·pair_ms + Σ w_d lat_d (ridge), chosen over the log calibration by LOO log error when 'msx' */
function msCalibrate(pp, refLatMs, base, variant) {
  const refs = nb201.referenceArchs;
  const lats = pp.state.trainDevices.map((d) => nb201.latency.get(d));
  const counts = (a) => { const c = new Array(SPACE === 'nb201' ? 4 : 8).fill(0); nb201.ops[a].forEach((op) => op > 0 && c[op - 1]++); return c; };
  const kind = variant.replace(/^ms(avg[0-9.]*|x|l|b)?/, '') || 'pt';
  const feat = (a) => [...(kind.includes('p') ? [base.predictMs(a)] : []), ...(kind.includes('c') ? counts(a) : []), ...(kind.includes('t') ? lats.map((l) => l[a]) : [])];
  const m = fitRidge(refs.map(feat), refLatMs, [1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);
  const predictMs = (a) => Math.max(1e-6, m.predict(feat(a)));
  const msLoo = Math.sqrt(m.loo.reduce((s, p, i) => s + Math.log(Math.max(p, 1e-6) / refLatMs[i]) ** 2, 0) / refs.length);
  if (variant.startsWith('msx') && msLoo >= base.logSpread) return base;
  if (variant.startsWith('msb')) {
    // inverse-variance blend in log space
    const wa = 1 / base.logSpread ** 2, wb = 1 / msLoo ** 2, w = wb / (wa + wb);
    const pm = (a) => Math.exp(w * Math.log(Math.max(m.predict(feat(a)), 1e-6)) + (1 - w) * Math.log(base.predictMs(a)));
    return { features: base.features, logSpread: Math.min(base.logSpread, msLoo), predictMs: pm, predictLogMs: (x) => Math.log(pm(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, a) => pm(a)), lambda: `w ${w.toFixed(2)}` };
  }
  if (variant.startsWith('msavg')) {
    const w = Number(variant.slice(5) || 0.5);
    const pm = (a) => Math.exp(w * Math.log(predictMs(a)) + (1 - w) * Math.log(base.predictMs(a)));
    return { features: base.features, logSpread: base.logSpread, predictMs: pm, predictLogMs: (x) => Math.log(pm(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, a) => pm(a)), lambda: '' };
  }
  return { features: base.features, logSpread: variant === 'ms' ? base.logSpread : msLoo, predictMs, predictLogMs: (x) => Math.log(predictMs(x)), predictAllMs: () => Float64Array.from({ length: nb201.ops.length }, (_, a) => predictMs(a)), lambda: `${m.lambda} msLoo ${msLoo.toFixed(3)}` };
}

// QS=0.2,0.25,… (session 47): the budget percentiles of the validation decisions (default 25/50/75, as the test's)
const QS = (process.env.QS ?? '0.25,0.5,0.75').split(',').map(Number);
// candidate union over nearby budgets (UNION='0.9,1.1'): the designs best just under/over the budget too
if (process.env.UNION) {
  const factors = [1, ...process.env.UNION.split(',').map(Number)];
  const orig = opt.candidateSet.bind(opt);
  opt.candidateSet = (f, b, m) => {
    const sets = factors.map((k) => orig(f, b * k, m));
    const has = (a) => sets.some((x) => x.has(a));
    return { size: sets.reduce((a, x) => a + x.size, 0), has, score: (a) => Math.max(...sets.map((x) => (x.has(a) ? x.score(a) : -Infinity))), nextMember: nextMemberBy(has) };
  };
}
const order = byAccuracy(nb201.accuracy);

// UTILITY=1 (session 47): a decision by expected utility instead of a margin — among the
// optimiser's candidates, the design maximising accuracy − λ × P(it breaks the budget), with
// P = Φ((predicted log latency − log budget) / σ), σ = s × the device's reference spread (at least
// 0.01): a bold choice where the most accurate designs are far ahead, a safe one where they are
// close. Validation devices as above; TEST=1 adds the test devices for the best rule.
if (process.env.UTILITY) {
  const order0 = byAccuracy(nb201.accuracy);
  const erf = (x) => { const t = 1 / (1 + 0.3275911 * Math.abs(x)); const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x); return x >= 0 ? y : -y; };
  const Phi = (x) => 0.5 * (1 + erf(x / Math.SQRT2));
  function pick(dp, budget, rule) {
    const cs = opt.candidateSet(dp.features, budget, rule.candidates);
    const lb = Math.log(budget);
    const sigma = Math.max(rule.s * dp.logSpread, 0.01);
    let best = -1, bestU = -Infinity;
    for (const a of order0) {
      if (!cs.has(a)) continue;
      const acc = nb201.accuracy[a];
      if (acc <= bestU) break;
      const u = acc - rule.lambda * Phi((Math.log(dp.predictMs(a)) - lb) / sigma);
      if (u > bestU) { bestU = u; best = a; }
    }
    return best;
  }
  const ugrid = [];
  for (const candidates of [256, 512, 1024]) for (const s of [0.5, 0.75, 1, 1.5, 2]) for (const lambda of [1, 2, 5, 10, 20, 50, 100, 1000]) ugrid.push({ candidates, s, lambda });
  const label = (r) => `${r.candidates}/s${r.s}/λ${r.lambda}`;
  function judge(devs, predFor, rules, pickFn) {
    const cal = devs.map((d) => { const truth = requireDevice(nb201, d); return { d, truth, dp: predFor(d).forDevice(nb201.referenceArchs.map((a) => truth[a])) }; });
    return rules.map((rule) => {
      const outs = cal.flatMap(({ d, truth, dp }) => budgetsAt(truth, QS).map((b, qi) => ({ d, q: QS[qi], ...judgeChoice(pickFn(dp, b, rule), b, truth, nb201.accuracy, order0) })));
      return { rule, regret: mean(outs.map((o) => o.regret)), viol: outs.filter((o) => o.violated).length / outs.length, outs };
    });
  }
  const valDevs = [...val, ...help.train];
  const predFor = (d) => (loo.has(d) ? loo.get(d) : pair);
  const scored = judge(valDevs, predFor, ugrid, pick);
  const ok = scored.filter((x) => x.viol <= 0.05).sort((a, b) => a.regret - b.regret);
  console.log('utility rules, validation, best ≤5 % broken:');
  for (const x of ok.slice(0, 12)) console.log(`  ${label(x.rule)}: ${x.regret.toFixed(3)} ${(100 * x.viol).toFixed(0)}%`);
  const [shipped] = judge(valDevs, predFor, [{ candidates: 512, z: 0.5, maxMargin: 0.1 }], (dp, b, r) => decideDesign(opt, dp, b, nb201.accuracy, r).arch);
  console.log(`  shipped margin rule 512/z0.5/cap0.1: ${shipped.regret.toFixed(3)} ${(100 * shipped.viol).toFixed(0)}%`);
  if (process.env.DETAIL) for (const o of ok[0].outs) console.log(`    ${o.d} ${o.q} regret ${o.regret.toFixed(2)}${o.violated ? ' VIOL' : ''} | shipped ${shipped.outs.find((x) => x.d === o.d && x.q === o.q).regret.toFixed(2)}`);
  if (TEST) for (const x of judge(help.test, () => pair, [ok[0].rule], pick)) console.log(`TEST ${label(x.rule)}: regret ${x.regret.toFixed(3)}, broken ${x.outs.filter((o) => o.violated).length}/${x.outs.length}`);
  process.exit(0);
}
const variants = (process.env.VARIANTS ?? 'default,tower').split(',');
// TRUST=0.03,0.05 (session 34): rules that make every design a candidate on a device whose
// reference spread is at most that (the predictor trusted over the optimiser's prior)
const TRUST = (process.env.TRUST ?? '').split(',').filter(Boolean).map(Number);
const grid = (process.env.CANDS ?? "256,512,1024").split(",").map(Number).flatMap((candidates) => [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2].flatMap((z) => (z === 0 ? [undefined] : [undefined, 0.3, 0.2, 0.15, 0.1]).flatMap((maxMargin) => [undefined, ...TRUST].map((trust) => ({ candidates, z, ...(maxMargin === undefined ? {} : { maxMargin }), ...(trust === undefined ? {} : { trust }) })))));
const ruleFor = (rule, dp) => (rule.trust !== undefined && dp.logSpread <= rule.trust ? { ...rule, candidates: nb201.ops.length } : rule);
for (const v of variants) {
  const cal = devices.map((d) => {
    const truth = requireDevice(nb201, d);
    const dp = calibrate(predictorFor(d), nb201.referenceArchs.map((a) => truth[a]), v);
    return { d, truth, dp };
  });
  const metr = cal.map(({ d, truth, dp }) => ({ d, ...latencyMetrics(dp.predictAllMs(), truth, nb201.referenceArchs), spread: dp.logSpread, lambda: dp.lambda }));
  const scored = grid.map((rule) => {
    const outs = cal.flatMap(({ truth, dp }) => budgetsAt(truth, QS).map((b) => judgeChoice(decideDesign(opt, dp, b, nb201.accuracy, ruleFor(rule, dp)).arch, b, truth, nb201.accuracy, order)));
    return { rule, regret: mean(outs.map((o) => o.regret)), viol: outs.filter((o) => o.violated).length / outs.length };
  });
  const ok = scored.filter((s) => s.viol <= 0.05).sort((a, b) => a.regret - b.regret);
  console.log(`\n== ${v} ${TEST ? 'TEST' : 'validation'}: mean rho ${mean(metr.map((m) => m.spearman)).toFixed(3)} ±10% ${(100 * mean(metr.map((m) => m.within10))).toFixed(1)}`);
  for (const m of metr) console.log(`  ${m.d.padEnd(15)} rho ${m.spearman.toFixed(3)} ±10% ${(100 * m.within10).toFixed(0)} mape ${m.medianApe.toFixed(1)} spread ${m.spread.toFixed(3)} λ ${m.lambda ?? ''}`);
  console.log('  best rules ≤5 %:', ok.slice(0, 6).map((s) => `${s.rule.candidates}/z${s.rule.z}/cap${s.rule.maxMargin ?? '-'}${s.rule.trust !== undefined ? `/trust${s.rule.trust}` : ''}: ${s.regret.toFixed(2)} ${(100 * s.viol).toFixed(0)}%`).join('; '));
  console.log('  fixed rules:', ['512/0.5/0.1', '512/0.5/0.15', '1024/0.5/0.15', '512/0.75/0.2', '512/0.5/-', '512/0.75/0.1', '1024/0.75/0.15'].map((k) => { const [c, z, m] = k.split('/'); const s = scored.find((x) => x.rule.candidates === +c && x.rule.z === +z && String(x.rule.maxMargin ?? '-') === m); return `${k}: ${s.regret.toFixed(2)} ${(100 * s.viol).toFixed(0)}%`; }).join('; '));
  const def = scored.find((s) => s.rule.candidates === 512 && s.rule.z === 0.75 && s.rule.maxMargin === 0.2);
  if (process.env.DETAIL) { const best = ok[0]; const outs = cal.flatMap(({ d, truth, dp }) => budgetsAt(truth, QS).map((b, qi) => ({ d, q: QS[qi], ...judgeChoice(decideDesign(opt, dp, b, nb201.accuracy, best.rule).arch, b, truth, nb201.accuracy, order), pred: 0 }))); for (const o of outs) { const c = cal.find((x) => x.d === o.d); const cs = opt.candidateSet(c.dp.features, o.budgetMs, best.rule.candidates); console.log(`    ${o.d} ${o.q} regret ${o.regret.toFixed(2)} ${o.violated ? 'VIOL' : ''} chosen/budget ${(requireDevice(nb201, o.d)[o.chosen] / o.budgetMs).toFixed(3)} best in cands ${cs.has(o.best)} best pred/budget ${(c.dp.predictMs(o.best) / o.budgetMs).toFixed(3)} true ${(c.truth[o.best] / o.budgetMs).toFixed(3)}`); } }
  console.log(`  default rule 512/z0.75/cap0.2: ${def.regret.toFixed(2)} ${(100 * def.viol).toFixed(0)}%`);
}
if (process.env.BIAS) {
  const acc = nb201.accuracy;
  const top = [...acc.keys()].sort((a, b) => acc[b] - acc[a]).slice(0, Number(process.env.BIAS));
  console.log('ref accuracies', nb201.referenceArchs.map((a) => acc[a].toFixed(1)).join(' '), 'top cut', acc[top.at(-1)].toFixed(2));
  for (const v of variants) for (const d of devices) {
    const truth = requireDevice(nb201, d);
    const dp = calibrate(predictorFor(d), nb201.referenceArchs.map((a) => truth[a]), v);
    const e = top.map((a) => Math.log(dp.predictMs(a) / truth[a]));
    const all = [...acc.keys()].map((a) => Math.log(dp.predictMs(a) / truth[a]));
    const m = mean(e); const sd = Math.sqrt(mean(e.map((x) => (x - m) ** 2)));
    console.log(`${v} ${d.padEnd(15)} top bias ${(100 * m).toFixed(1)}% sd ${(100 * sd).toFixed(1)}%  all bias ${(100 * mean(all)).toFixed(1)}%`);
  }
}

// VARIANTS=new DISAGREE=1 (session 27): a per-candidate margin that grows with how far the network's and the
// additive model's answers for the candidate disagree (y × |log net − log additive|, 'dw': scaled by
// the blend's weights), over the shipped rule grid; validation devices as above (TEST=1 adds the
// test devices for the chosen rules). Not adopted: reports/scale-history.md.
if (process.env.DISAGREE) {
  // ---- per-candidate margin from the disagreement of the two calibrations (network vs additive)
  function parts(pp, ref) {
    const net = pp.forDevice(ref, { additive: false });
    const blend = pp.forDevice(ref);
    return { net, blend, add: opCountsFit(ref).predictMs, w: blend.additiveWeight };
  }
  function pick(p, budget, rule) {
    const cs = opt.candidateSet(p.blend.features, budget, rule.candidates);
    const lb = Math.log(budget);
    const base = rule.z * p.blend.logSpread;
    let fastest = -1, fastLog = Infinity;
    for (const a of order) {
      if (!cs.has(a)) continue;
      const lp = Math.log(p.blend.predictMs(a));
      const dis = Math.abs(Math.log(p.net.predictMs(a)) - Math.log(p.add(a)));
      const scale = rule.kind === 'dw' ? 2 * Math.sqrt(p.w * (1 - p.w)) : 1;
      const margin = Math.min(base + rule.y * scale * dis, rule.cap ?? Infinity);
      if (lp + margin <= lb) return a;
      if (lp < fastLog) { fastLog = lp; fastest = a; }
    }
    return fastest;
  }
  const dgrid = [];
  for (const candidates of [256, 512, 1024]) for (const z of [0, 0.25, 0.5, 0.75, 1]) for (const y of [0, 0.25, 0.5, 1, 2]) for (const kind of y ? ['raw', 'dw'] : ['raw']) for (const cap of [undefined, 0.3, 0.2, 0.15, 0.1]) dgrid.push({ candidates, z, y, kind, ...(cap === undefined ? {} : { cap }) });
  const label = (r) => `${r.candidates}/z${r.z}/y${r.y}${r.y ? r.kind : ''}/cap${r.cap ?? '-'}`;
  function judge(devs, predFor, rules) {
    const cal = devs.map((d) => { const truth = requireDevice(nb201, d); return { d, truth, p: parts(predFor(d), nb201.referenceArchs.map((a) => truth[a])) }; });
    return rules.map((rule) => {
      const outs = cal.flatMap(({ d, truth, p }) => budgetsAt(truth, QS).map((b, qi) => ({ d, q: QS[qi], ...judgeChoice(pick(p, b, rule), b, truth, nb201.accuracy, order) })));
      return { rule, regret: mean(outs.map((o) => o.regret)), viol: outs.filter((o) => o.violated).length / outs.length, outs };
    });
  }
  const valDevs = [...val, ...help.train];
  const scored = judge(valDevs, (d) => (loo.has(d) ? loo.get(d) : pair), dgrid);
  const ok = scored.filter((s) => s.viol <= 0.05).sort((a, b) => a.regret - b.regret);
  console.log('validation, best rules ≤5 %:');
  for (const s of ok.slice(0, 12)) console.log(`  ${label(s.rule)}: ${s.regret.toFixed(3)} ${(100 * s.viol).toFixed(0)}%`);
  const bestY0 = ok.find((s) => s.rule.y === 0);
  console.log(`  best without the disagreement term: ${label(bestY0.rule)} ${bestY0.regret.toFixed(3)}`);
  const shipped = scored.find((s) => s.rule.candidates === 512 && s.rule.z === 0.5 && s.rule.y === 0 && s.rule.cap === 0.1);
  console.log(`  shipped rule 512/z0.5/cap0.1: ${shipped.regret.toFixed(3)} ${(100 * shipped.viol).toFixed(0)}%`);
  if (TEST) {
    const t = judge(help.test, () => pair, [ok[0].rule, bestY0.rule, shipped.rule]);
    for (const s of t) console.log(`TEST ${label(s.rule)}: regret ${s.regret.toFixed(3)}, broken ${s.outs.filter((o) => o.violated).length}/${s.outs.length}`);
  }
}
