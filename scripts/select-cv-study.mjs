// Choosing an RM on a 20 % validation split vs on k-fold cross-validation, for small datasets (the
// bench's 2-thread / load / wasm settings have 100 samples per module: 20 validation rows) — what
// set CV_BELOW_VAL_ROWS (src/select/candidates.ts).
// Validation data only, from the bench:regressors store (`npm run bench:regressors`, `npm run build`):
//   node scripts/select-cv-study.mjs          (N=100,200,300,400 DRAWS=4 FOLDS=5; ~25 min on the 2-core VM)
// Per module (1-thread training runs, reference-configuration state ±5 s, the probe's where a run
// has none), DRAWS draws of N rows: every RM fitted on the 80 % split as `train` fits it, and
// scored (a) on the 20 % split, as shipped, (b) out of fold over all N rows (FOLDS refits). Each
// way's `balanced` pick — the model fitted on the 80 % split in both, so only the choice differs —
// is judged on up to 600 other rows of the same training run (never the test run).
// MLP and MEDN are left out of both candidate sets (seconds per fit in tfjs, and never picked at
// these sizes in select-policy-study.mjs).
import { Store } from '../dist/store/db.js';
import { loadModuleRuns, stateGroups } from '../dist/bench/regressors-state.js';
import { benchDbPath } from '../dist/bench/regressors-data.js';
import { atState, stateFactors } from '../dist/select/machine-state.js';
import { featureOptionsFor, splitRows } from '../dist/select/split.js';
import { featureSpace, getRegressorKind, REGRESSORS } from '../dist/regressors/index.js';
import { fitCandidates } from '../dist/select/candidates.js';
import { accuracy } from '../dist/select/metrics.js';
import { choose } from '../dist/select/policy.js';
import { getModule, MODULES } from '../dist/modules/index.js';
import { Rng } from '../dist/util/random.js';

const store = new Store(benchDbPath());
const SIZES = (process.env.N ?? '100,200,300,400').split(',').map(Number);
const DRAWS = Number(process.env.DRAWS ?? 4), FOLDS = Number(process.env.FOLDS ?? 5);
const kinds = REGRESSORS.filter((k) => !k.multiTask && k.kind !== 'mlp' && !(k.members ?? []).includes('mlp')).map((k) => k.kind);
const results = new Map(SIZES.map((n) => [n, []]));
for (const { name } of MODULES) {
  const runs = loadModuleRuns(store, 't1', name);
  if (!runs.runs.train || runs.runs.train.length < Math.max(...SIZES) + 100) continue;
  const source = runs.runs.train.every((r) => r.ref_ms > 0) ? 'reference' : 'probe';
  const rows = atState(runs.runs.train, stateFactors(stateGroups([runs]), { source, windowS: 5 }));
  const fs = featureSpace(getModule(name), featureOptionsFor('ort-cpu'));
  for (const N of SIZES) {
    for (let d = 1; d <= DRAWS; d++) {
      const shuffled = new Rng(100 + d).shuffle([...rows]);
      const sample = shuffled.slice(0, N), judge = shuffled.slice(N, N + 600);
      const { train, val } = splitRows(sample, 0.2, d);
      const { candidates } = await fitCandidates(fs, train, val, { seed: d, kinds });
      // out-of-fold predictions over all N rows, per kind
      const order = new Rng(7 + d).shuffle([...sample.keys()]);
      const oof = new Map(kinds.map((k) => [k, new Array(N)]));
      for (let f = 0; f < FOLDS; f++) {
        const held = new Set(order.filter((_, i) => i % FOLDS === f));
        const tr = sample.filter((_, i) => !held.has(i));
        const X = tr.map((r) => fs.encode(r)), y = tr.map((r) => r.latency_ms);
        const fitted = new Map();
        for (const k of kinds) {
          const kind = getRegressorKind(k);
          let m = kind.compose?.(fitted);
          if (!m) { m = kind.create(d); await m.fit(X, y); }
          fitted.set(k, m);
          const idx = [...held];
          const p = m.predict(idx.map((i) => fs.encode(sample[i])));
          idx.forEach((i, j) => (oof.get(k)[i] = p[j]));
        }
      }
      const y = sample.map((r) => r.latency_ms);
      const Xj = judge.map((r) => fs.encode(r)), yj = judge.map((r) => r.latency_ms);
      const judged = new Map(candidates.map((c) => [c.kind, accuracy(c.model.predict(Xj), yj)]));
      const split = choose(candidates, 'balanced');
      const cv = choose(candidates.map((c) => ({ ...c, val: accuracy(oof.get(c.kind), y) })), 'balanced');
      const best = Math.max(...candidates.map((c) => judged.get(c.kind).within10));
      results.get(N).push({ module: name, split: split.kind, cv: cv.kind, j: { split: judged.get(split.kind), cv: judged.get(cv.kind) }, best });
      process.stderr.write(`${name} N=${N} draw ${d}: split picks ${split.kind} (${(100 * judged.get(split.kind).within10).toFixed(0)} %), ${FOLDS}-fold picks ${cv.kind} (${(100 * judged.get(cv.kind).within10).toFixed(0)} %), best ${(100 * best).toFixed(0)} %\n`);
    }
  }
}
store.close();
console.log(`| samples | cases | judged ±10 %: 20 % split | ${FOLDS}-fold CV | best candidate | judged MAPE %: split | CV | picks differ |\n| --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const [N, rs] of results) {
  const m = (f) => (rs.reduce((s, r) => s + f(r), 0) / rs.length);
  console.log(`| ${N} | ${rs.length} | ${(100 * m((r) => r.j.split.within10)).toFixed(1)} | ${(100 * m((r) => r.j.cv.within10)).toFixed(1)} | ${(100 * m((r) => r.best)).toFixed(1)} | ${m((r) => r.j.split.mape).toFixed(1)} | ${m((r) => r.j.cv.mape).toFixed(1)} | ${rs.filter((r) => r.split !== r.cv).length} |`);
}
