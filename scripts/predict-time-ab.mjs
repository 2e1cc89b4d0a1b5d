// Whole-model prediction time of two builds, paired in one process: the base build's predictor
// and this checkout's (dist/) predict each test network of bench:models in turn, alternating which
// goes first, after two warm-up rounds; the machine's drift hits both alike. Needs the bench store
// (.latencylab/models.db, or LATENCYLAB_BENCH_DB) with the setting's predictors.
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   npm run build && node scripts/predict-time-ab.mjs /tmp/base/dist [t1|t2|wasm] [rounds]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseDir, setting = 't1', rounds = '6'] = process.argv.slice(2);
if (!baseDir) {
  console.error('usage: node scripts/predict-time-ab.mjs <base dist folder> [t1|t2|wasm] [rounds]');
  process.exit(2);
}
const load = async (dir) => {
  const at = (f) => import(pathToFileURL(path.resolve(dir, f)).href);
  return {
    Store: (await at('store/db.js')).Store,
    modelFromBytes: (await at('wholemodel/model-file.js')).modelFromBytes,
    Predictor: (await at('wholemodel/predictor.js')).WholeModelPredictor,
    data: await at('bench/models-data.js'),
    measure: await at('bench/models-measure.js'),
  };
};
const base = await load(baseDir);
const head = await load('dist');
const s = head.data.getModelSetting(setting);
const db = head.data.modelsDbPath();
const builds = [base, head].map((b) => ({ b, p: b.Predictor.open(new b.Store(db), s), ms: [] }));
const nets = head.measure.collectionModels('test', s).map((m) => {
  const f = m.load();
  return { name: m.name, bytes: f.bytes, shape: f.inputs[0]?.shape };
});
const time = ({ b, p }, x) => {
  p.clearMemo();
  const t0 = performance.now();
  p.predict(b.modelFromBytes(x.bytes, x.name, x.shape).imported);
  return performance.now() - t0;
};
for (let r = 0; r < Number(rounds); r++) {
  nets.forEach((x, i) => {
    const first = (r + i) % 2;
    for (const k of [first, 1 - first]) {
      const t = time(builds[k], x);
      if (r >= 2) builds[k].ms.push(t);
    }
  });
}
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const [a, b] = builds.map((x) => x.ms);
const ratio = median(a.map((t, i) => b[i] / t));
console.log(`${setting}, ${nets.length} test networks × ${Number(rounds) - 2} rounds: base median ${median(a).toFixed(3)} ms, this build ${median(b).toFixed(3)} ms, median paired ratio ${ratio.toFixed(3)}`);
