// Does the auto-selection policy pick well on small datasets (the demo's 200 samples, 40 validation
// rows, where ±10 % shares often tie)? Validation data only, from the bench:regressors store
// (run `npm run bench:regressors` first, then `npm run build`):
//   node scripts/select-policy-study.mjs            (N=200 DRAWS=4; ~15 min on the 2-core VM)
// Per module (1-thread training run, its reference-configuration state ±5 s, the probe's where
// a run has no reference), DRAWS random draws of N rows are split 80/20 as `train` splits them,
// every RM is fitted, and each policy's pick is judged on up to 600 other rows of the same
// training run (never the test run). Policies: the shipped `balanced` and `accuracy`; balanced
// with the near set cut to MAPE ≤ (1+t)×the lowest; wider ±10 % tolerances; a ±5 %+±10 % score;
// lowest MAPE; the oracle (best on the judging rows) as the ceiling.
import { Store } from '../dist/store/db.js';
import { loadModuleRuns, stateGroups } from '../dist/bench/regressors-state.js';
import { benchDbPath } from '../dist/bench/regressors-data.js';
import { atState, stateFactors } from '../dist/select/machine-state.js';
import { featureOptionsFor, splitRows } from '../dist/select/split.js';
import { featureSpace } from '../dist/regressors/index.js';
import { fitCandidates } from '../dist/select/candidates.js';
import { accuracy } from '../dist/select/metrics.js';
import { choose } from '../dist/select/policy.js';
import { getModule, MODULES } from '../dist/modules/index.js';
import { Rng } from '../dist/util/random.js';

const store = new Store(benchDbPath());
const N = Number(process.env.N ?? 200), DRAWS = Number(process.env.DRAWS ?? 4);
const cases = [];
for (const { name } of MODULES) {
  const runs = loadModuleRuns(store, 't1', name);
  if (!runs.runs.train || runs.runs.train.length < N + 100) continue;
  const source = runs.runs.train.every((r) => r.ref_ms > 0) ? 'reference' : 'probe';
  const rows = atState(runs.runs.train, stateFactors(stateGroups([runs]), { source, windowS: 5 }));
  const fs = featureSpace(getModule(name), featureOptionsFor('ort-cpu'));
  for (let d = 1; d <= DRAWS; d++) {
    const shuffled = new Rng(100 + d).shuffle([...rows]);
    const judge = shuffled.slice(N, N + 600);
    const { train, val } = splitRows(shuffled.slice(0, N), 0.2, d);
    const { candidates } = await fitCandidates(fs, train, val, { seed: d });
    const Xj = judge.map((r) => fs.encode(r)), yj = judge.map((r) => r.latency_ms);
    cases.push({ module: name, cands: candidates.map((c) => ({ ...c, judged: accuracy(c.model.predict(Xj), yj) })) });
    process.stderr.write(`${name} draw ${d}: validation / judged ±10 % ${candidates.map((c) => `${c.kind} ${(100 * c.val.within10).toFixed(0)}/${(100 * cases.at(-1).cands.find((x) => x.kind === c.kind).judged.within10).toFixed(0)}`).join(', ')}\n`);
  }
}
store.close();

const cost = (c) => Math.log(Math.max(c.predictUs, 0.01)) + Math.log(Math.max(c.sizeBytes, 1));
const cheapest = (cs) => [...cs].sort((a, b) => cost(a) - cost(b))[0];
const near = (cs, tol) => { const best = Math.max(...cs.map((c) => c.val.within10)); return cs.filter((c) => c.val.within10 >= best - tol - 1e-12); };
const policies = {
  'balanced (shipped)': (cs) => choose(cs, 'balanced'),
  accuracy: (cs) => choose(cs, 'accuracy'),
  ...Object.fromEntries([0, 0.1, 0.25, 0.5].map((t) => [`balanced, MAPE ≤ ${1 + t}× lowest`, (cs) => { const n = near(cs, 0.01); const m = Math.min(...n.map((c) => c.val.mape)); return cheapest(n.filter((c) => c.val.mape <= (1 + t) * m + 1e-12)); }])),
  ...Object.fromEntries([0.05, 0.1].map((t) => [`balanced, tolerance ${100 * t} points`, (cs) => cheapest(near(cs, t))])),
  'balanced on ±5 % + ±10 %': (cs) => { const s = (c) => c.val.within5 + c.val.within10; const b = Math.max(...cs.map(s)); return cheapest(cs.filter((c) => s(c) >= b - 0.02 - 1e-12)); },
  'lowest validation MAPE': (cs) => [...cs].sort((a, b) => a.val.mape - b.val.mape)[0],
  'oracle (best judged)': (cs) => [...cs].sort((a, b) => b.judged.within10 - a.judged.within10)[0],
};
console.log(`${cases.length} cases (${DRAWS} draws of ${N} rows per module); the pick judged on other rows of the training run`);
console.log('| policy | judged ±10 % | judged MAPE % | predict µs (geo. mean) | picks |\n| --- | --- | --- | --- | --- |');
for (const [name, pick] of Object.entries(policies)) {
  const picks = cases.map((x) => pick(x.cands));
  const kinds = {};
  picks.forEach((c) => (kinds[c.kind] = (kinds[c.kind] ?? 0) + 1));
  const m = (f) => picks.reduce((s, c) => s + f(c), 0) / picks.length;
  console.log(`| ${name} | ${(100 * m((c) => c.judged.within10)).toFixed(1)} | ${m((c) => c.judged.mape).toFixed(1)} | ${Math.exp(m((c) => Math.log(c.predictUs))).toFixed(1)} | ${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
}
