// Does measuring every configuration twice (profile --passes 2, quietest pass) train better module
// predictors than measuring it once? Validation only: per module a training dataset and a separate
// validation dataset (other configurations, other seed), both profiled here with 2 passes and the
// probe, ort-cpu 1 thread. RMs (poly2, gbt) fitted on pass 0 alone and on the quietest pass, judged
// on the validation configurations against pass 0 alone and against the quietest pass, with the
// run's median offset divided out (as the "w/o run offset" column of reports/regressors.md); and
// fitted on the quietest pass of half the configurations — the same number of measurements as
// pass 0 alone. Stored datasets are reused (a second run only recomputes).
// Measures for a few minutes: run it alone.
//   npm run build && node scripts/passes-study.mjs [modules] [train n] [val n]
import { Store } from '../dist/store/db.js';
import { profile } from '../dist/profile/profiler.js';
import { featureSpace } from '../dist/regressors/features.js';
import { featureOptionsFor } from '../dist/select/split.js';
import { getModule } from '../dist/modules/index.js';
import { getRegressorKind } from '../dist/regressors/index.js';

const modules = (process.argv[2] ?? 'softmax,layernorm,maxpool,concat,conv-bn-act').split(',');
const [nTrain, nVal] = [Number(process.argv[3] ?? 300), Number(process.argv[4] ?? 120)];
const store = new Store(process.env.STUDY_DB ?? '.latencylab/passes-study.db');
const w10 = (ratios) => {
  const med = [...ratios].sort((a, b) => a - b)[ratios.length >> 1];
  return (100 * ratios.filter((x) => Math.abs(x / med - 1) <= 0.1).length) / ratios.length;
};
console.log(`ort-cpu, 1 thread, ${nTrain} training + ${nVal} validation configurations per module, 2 passes each; ±10 % after the run offset`);
console.log('module        pass0 vs pass1 agree | RM     fit on pass 0: judged vs pass 0 / quietest | fit on quietest: vs pass 0 / quietest | fit on quietest of half the configurations: same');
for (const mod of modules) {
  const t0 = Date.now();
  for (const [role, n, seed] of [['train', nTrain, 21], ['val', nVal, 22]]) {
    await profile(store, { module: mod, device: 'ort-cpu', samples: n, seed, name: `${role}/${mod}`, probe: true, passes: 2 });
  }
  const rows = (role) => {
    const id = store.requireDataset(`${role}/${mod}`).id;
    const first = store.db.prepare('SELECT * FROM samples WHERE dataset_id = ? ORDER BY idx').all(id);
    return { first, quiet: store.samples(id), again: new Map(store.passMeasurements(id).map((m) => [m.idx, m])) };
  };
  const train = rows('train');
  const val = rows('val');
  const agree = w10(train.first.map((r) => train.again.get(r.idx).latency_ms / r.latency_ms));
  const fs = featureSpace(getModule(mod), featureOptionsFor('ort-cpu'));
  const seen = new Set(train.first.map((r) => r.params_json));
  const keep = val.first.map((r, i) => i).filter((i) => !seen.has(val.first[i].params_json));
  const parts = [];
  for (const kind of ['poly2', 'gbt']) {
    const judged = [];
    // pass 0 of every configuration; the quietest pass of every one; the quietest pass of the first
    // half (as many measurements as pass 0 alone: the same budget spent on passes, not configurations)
    for (const fit of [train.first, train.quiet, train.quiet.slice(0, train.quiet.length >> 1)]) {
      const m = getRegressorKind(kind).create(1);
      await m.fit(fit.map((r) => fs.encode(r)), fit.map((r) => r.latency_ms));
      const p = m.predict(keep.map((i) => fs.encode(val.first[i])));
      for (const truth of [val.first, val.quiet]) judged.push(w10(keep.map((i, k) => p[k] / truth[i].latency_ms)).toFixed(1));
    }
    parts.push(`${kind.padEnd(6)} ${judged[0]} / ${judged[1]} | ${judged[2]} / ${judged[3]} | ${judged[4]} / ${judged[5]}`);
  }
  console.log(`${mod.padEnd(13)} ${agree.toFixed(1).padStart(5)} %  (${((Date.now() - t0) / 1000).toFixed(0)} s) | ${parts.join('   ')}`);
}
store.close();
