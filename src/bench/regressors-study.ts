/**
 * The per-module study behind bench:regressors: the RM zoo per device setting, MEDN (one network
 * for every setting) against one MLP per task on the same rows, the combined model with threads
 * and load as inputs, the noise floor, kernel-feature ablation and feature importance. Accuracy is
 * always judged on the test datasets (another seed, measured in a separate run); every choice is
 * made on the validation split of the training run.
 */
import { getModule } from '../modules/index.js';
import { featureSpace, getRegressorKind, REGRESSORS, type FeatureSpace, type Regressor } from '../regressors/index.js';
import type { MultiTaskNet } from '../regressors/mlp.js';
import { crossValidate, cvFoldsFor, fitCandidates, multiTaskData, predictionTimeUs, type CandidateReport } from '../select/candidates.js';
import { featureOptionsFor, splitRows } from '../select/split.js';
import { accuracy, type Accuracy } from '../select/metrics.js';
import { choose, OBJECTIVES, markPareto, type Objective } from '../select/policy.js';
import type { SampleRow } from '../store/db.js';
import type { BenchSetting } from './regressors-data.js';
import type { StateMethod } from '../select/machine-state.js';

export interface ScoredCandidate extends CandidateReport {
  test: Accuracy;
  /** ±10 % share once the test run's one machine-state factor is taken out (median measured / predicted) */
  testRel10: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
/** ±10 % share of a / b after dividing out the median ratio: what is left when a run's uniform offset is removed */
export function within10AfterOffset(pred: number[], truth: number[]): number {
  const k = median(truth.map((t, i) => t / pred[i]!));
  return truth.filter((t, i) => Math.abs((pred[i]! * k) / t - 1) <= 0.1).length / truth.length;
}

export interface SettingResult {
  setting: string;
  trainN: number;
  valN: number;
  /** folds of the cross-validation the choice was made on (0: the validation split) */
  cvFolds: number;
  testN: number;
  /** test configurations also in the training dataset, left out of the test figures */
  testOverlap: number;
  candidates: ScoredCandidate[];
  selected: Record<Objective, string>;
  /** re-measurement vs first measurement: shares within ±5 / ±10 %, the median ratio (the runs' offset) and ±10 % once it is divided out */
  noise?: { n: number; within5: number; within10: number; medianRatio: number; within10AfterOffset: number; raw?: SettingData['rawNoise'] };
  zooTrainS: number;
}

export interface ModuleStudy {
  module: string;
  settings: SettingResult[];
  medn: Array<{ task: string; n: number; trainRows: number; medn: Accuracy; mlp: Accuracy }>;
  mednTrainS: number;
  combined?: { kind: string; perSetting: Array<{ setting: string; test: Accuracy }> };
  ablation?: { kind: string; valWith: Accuracy; valWithout: Accuracy; testWith: Accuracy; testWithout: Accuracy };
  importance?: { kind: string; groups: Array<{ group: string; drop: number }>; top: Array<{ feature: string; drop: number }> };
}

const SINGLE_KINDS = REGRESSORS.filter((k) => !k.multiTask).map((k) => k.kind);
/** the setting whose latency is MEDN's main task (head 0) */
const MAIN = 't1';

/** one device setting's datasets of a module, latencies already at the setting's machine state (regressors-state.ts) */
export interface SettingData {
  s: BenchSetting;
  /** how its latencies were put at one machine state */
  state?: StateMethod;
  train: SampleRow[];
  test: SampleRow[];
  recheck?: SampleRow[];
  /** the noise floor as measured, before the machine state is taken out */
  rawNoise?: { n: number; within10: number; medianRatio: number };
  /** where a second training run joined the first: how many of `train`'s rows (the first ones) are the first run's */
  firstRunRows?: number;
}

const encodeAs = (fs: FeatureSpace, rows: SampleRow[], like?: SampleRow) =>
  rows.map((r) => fs.encode(like ? { ...r, threads: like.threads, load_workers: like.load_workers, load_duty: like.load_duty } : r));

/** the test-run figures of a fitted RM */
function testScores(model: Regressor, Xt: number[][], yt: number[]): Pick<ScoredCandidate, 'test' | 'testRel10'> {
  const pred = model.predict(Xt);
  return { test: accuracy(pred, yt), testRel10: within10AfterOffset(pred, yt) };
}

/** the prediction of one MEDN head, as a Regressor (what auto-selection sees) */
function headOf(net: MultiTaskNet, head: number): Regressor {
  return { kind: 'medn', fit: () => undefined, predict: (X) => (head === 0 ? net.predict(X) : net.predictTask(X, head)), toJSON: () => net.toJSON() };
}

/**
 * The single-dataset RMs fitted on `train`, compared on `val` — or out of fold where the validation
 * split is small, as `train` does — and scored on `test`.
 */
async function zooOn(fs: FeatureSpace, train: SampleRow[], val: SampleRow[], test: SampleRow[], onCv: (folds: number) => void = () => undefined) {
  const { candidates } = await fitCandidates(fs, train, val, { kinds: SINGLE_KINDS, seed: 1 });
  // (MEDN, one network over every setting and not among these, keeps its validation-split score)
  const folds = cvFoldsFor(undefined, val.length, train.length + val.length);
  if (folds >= 2) {
    onCv(folds);
    const cv = await crossValidate(fs, [...train, ...val], { folds, kinds: SINGLE_KINDS, seed: 1 });
    for (const c of candidates) c.cv = cv.get(c.kind);
  }
  const Xt = encodeAs(fs, test);
  const yt = test.map((r) => r.latency_ms);
  const scored: ScoredCandidate[] = candidates.map(({ model, ...c }) => ({ ...c, ...testScores(model, Xt, yt) }));
  return { scored, folds };
}

/** test configurations that occur in no training row (the rest are the report's "overlap") */
const unseenTest = (d: SettingData) => {
  const trained = new Set(d.train.map((r) => r.params_json));
  return d.test.filter((r) => !trained.has(r.params_json));
};

/**
 * Where a second training run joined the first: the zoo on the first run alone (the default
 * dataset size), auto-selected (balanced) on that run's own validation split and scored on the same
 * test configurations as the full study. MEDN, one network over every setting, is left out.
 */
export async function firstRunStudy(module: string, d: SettingData, log: (s: string) => void) {
  if (!d.firstRunRows) return undefined;
  const fs = featureSpace(getModule(module), featureOptionsFor(d.s.device));
  const { train, val } = splitRows(d.train.slice(0, d.firstRunRows), 0.2, 1);
  const test = unseenTest(d);
  log(`${module} @ ${d.s.id}: zoo on the first training run alone, ${train.length} (validation ${val.length}, test ${test.length})`);
  const { scored } = await zooOn(fs, train, val, test);
  const selected = choose(scored, 'balanced');
  return { module, setting: d.s.id, trainN: train.length, valN: val.length, selected, zooTrainS: scored.reduce((s, c) => s + c.trainMs, 0) / 1000 };
}

export async function studyModule(module: string, data: readonly SettingData[], log: (s: string) => void): Promise<ModuleStudy> {
  const m = getModule(module);
  const split = new Map(data.map((d) => [d.s.id, splitRows(d.train, 0.2, 1)]));
  const testOf = new Map(data.map((d) => [d.s.id, unseenTest(d)]));

  // --- MEDN: one network, a head per device setting (+ p90 and session creation of the main one)
  const main = data.find((d) => d.s.id === MAIN);
  let mednNet: MultiTaskNet | undefined;
  let mednTrainS = 0;
  const mednHeads = new Map<string, number>();
  const medn: ModuleStudy['medn'] = [];
  const mainFs = main ? featureSpace(m, featureOptionsFor(main.s.device)) : undefined;
  if (main && mainFs) {
    const exclude = new Set<string>();
    for (const d of data) {
      for (const r of split.get(d.s.id)!.val) exclude.add(r.params_json);
      for (const r of d.test) exclude.add(r.params_json);
    }
    const mainTrain = split.get(MAIN)!.train.filter((r) => !exclude.has(r.params_json));
    const related = data.filter((d) => d !== main).map((d) => ({ name: d.s.id, rows: split.get(d.s.id)!.train }));
    const mt = multiTaskData(mainTrain, related, exclude);
    const X = mt.rows.map((r) => mainFs.encode(r));
    log(`${module}: MEDN on ${mt.rows.length} configurations, ${1 + mt.tasks.length} tasks`);
    const t0 = performance.now();
    mednNet = getRegressorKind('medn').create(1) as MultiTaskNet;
    await mednNet.fit(X, mt.y, { tasks: mt.tasks });
    mednTrainS = (performance.now() - t0) / 1000;
    // heads in multiTaskData's task order: main latency, then p90, create, latency@<setting>…
    const tasks = [{ name: `latency@${MAIN}`, y: mt.y }, ...mt.tasks];
    tasks.forEach((t, head) => {
      if (t.name.startsWith('latency@')) mednHeads.set(t.name.slice('latency@'.length), head);
    });
    // one MLP per task on exactly the rows MEDN had for that task
    for (const [head, t] of tasks.entries()) {
      const rowsIdx = t.y.map((v, i) => (Number.isFinite(v) ? i : -1)).filter((i) => i >= 0);
      const mlp = getRegressorKind('mlp').create(1);
      await mlp.fit(rowsIdx.map((i) => X[i]!), rowsIdx.map((i) => t.y[i]!));
      const setting = t.name.startsWith('latency@') ? t.name.slice('latency@'.length) : MAIN;
      const testRows = testOf.get(setting)!;
      const target = (r: SampleRow) => (t.name === 'p90' ? r.p90_ms : t.name === 'create' ? r.create_ms : r.latency_ms);
      const Xt = encodeAs(mainFs, testRows, main.train[0]);
      const yt = testRows.map(target);
      medn.push({
        task: t.name.startsWith('latency@') ? t.name : `${t.name}@${MAIN}`,
        n: testRows.length,
        trainRows: rowsIdx.length,
        medn: accuracy(headOf(mednNet, head).predict(Xt), yt),
        mlp: accuracy(mlp.predict(Xt), yt),
      });
    }
  }

  // --- the zoo per setting
  const settings: SettingResult[] = [];
  for (const d of data) {
    const fs = featureSpace(m, featureOptionsFor(d.s.device));
    const { train, val } = split.get(d.s.id)!;
    const test = testOf.get(d.s.id)!;
    log(`${module} @ ${d.s.id}: zoo on ${train.length} (validation ${val.length}, test ${test.length})`);
    const { scored, folds } = await zooOn(fs, train, val, test, (n) => log(`${module} @ ${d.s.id}: ${n}-fold cross-validation of the zoo`));
    const yt = test.map((r) => r.latency_ms);
    const head = mednHeads.get(d.s.id);
    if (mednNet && mainFs && main && head !== undefined) {
      // MEDN encodes every setting with the main one's device fields: its heads are the settings
      const h = headOf(mednNet, head);
      const Xv = encodeAs(mainFs, val, main.train[0]);
      scored.push({
        kind: 'medn', library: getRegressorKind('medn').library, trainMs: mednTrainS * 1000,
        val: accuracy(h.predict(Xv), val.map((r) => r.latency_ms)),
        ...testScores(h, encodeAs(mainFs, test, main.train[0]), yt),
        predictUs: predictionTimeUs(h, Xv),
        sizeBytes: Buffer.byteLength(JSON.stringify(h.toJSON())),
        selected: false, pareto: false,
      });
    }
    // on what selection compares: out of fold where cross-validated, else the validation split
    markPareto(scored);
    const selected = Object.fromEntries(OBJECTIVES.map((o) => [o, choose(scored, o).kind])) as Record<Objective, string>;
    for (const c of scored) c.selected = c.kind === selected.balanced;
    let noise: SettingResult['noise'];
    if (d.recheck) {
      const first = new Map(d.test.map((r) => [r.params_json, r.latency_ms]));
      const again = d.recheck.filter((r) => first.has(r.params_json));
      const a = again.map((r) => first.get(r.params_json)!);
      const b = again.map((r) => r.latency_ms);
      const dev = b.map((v, i) => Math.abs(v / a[i]! - 1));
      noise = {
        n: dev.length,
        within5: dev.filter((x) => x <= 0.05).length / dev.length,
        within10: dev.filter((x) => x <= 0.1).length / dev.length,
        medianRatio: median(b.map((v, i) => v / a[i]!)),
        within10AfterOffset: within10AfterOffset(a, b),
        ...(d.rawNoise ? { raw: d.rawNoise } : {}),
      };
    }
    settings.push({
      setting: d.s.id, trainN: train.length, valN: val.length, cvFolds: folds, testN: test.length, testOverlap: d.test.length - test.length,
      candidates: scored, selected, noise,
      zooTrainS: scored.filter((c) => c.kind !== 'medn').reduce((s, c) => s + c.trainMs, 0) / 1000 + mednTrainS,
    });
  }

  const study: ModuleStudy = { module, settings, medn, mednTrainS };

  // --- one model per module with threads and load as inputs (the ort-cpu settings together)
  const cpu = data.filter((d) => d.s.device === 'ort-cpu');
  if (cpu.length > 1) {
    const fs = featureSpace(m, featureOptionsFor('ort-cpu'));
    const train = cpu.flatMap((d) => split.get(d.s.id)!.train);
    const val = cpu.flatMap((d) => split.get(d.s.id)!.val);
    log(`${module}: combined model on ${train.length} rows of ${cpu.map((d) => d.s.id).join('+')}`);
    const { candidates } = await fitCandidates(fs, train, val, { kinds: SINGLE_KINDS, seed: 1 });
    const best = choose(candidates, 'balanced');
    study.combined = {
      kind: best.kind,
      perSetting: cpu.map((d) => {
        const test = testOf.get(d.s.id)!;
        return { setting: d.s.id, test: accuracy(best.model.predict(encodeAs(fs, test)), test.map((r) => r.latency_ms)) };
      }),
    };
  }

  // --- kernel features: ablation and importance on the main setting
  if (main) {
    const { train, val } = split.get(MAIN)!;
    const test = testOf.get(MAIN)!;
    const sel = settings.find((s) => s.setting === MAIN)!;
    const kind = sel.selected.balanced === 'medn' ? 'gbt' : sel.selected.balanced;
    const fit = async (kernel: boolean) => {
      const fs = featureSpace(m, featureOptionsFor(main.s.device, kernel));
      const model = getRegressorKind(kind).create(1);
      await model.fit(encodeAs(fs, train), train.map((r) => r.latency_ms), { additiveColumns: fs.additiveColumns });
      return { fs, model, val: accuracy(model.predict(encodeAs(fs, val)), val.map((r) => r.latency_ms)), test: accuracy(model.predict(encodeAs(fs, test)), test.map((r) => r.latency_ms)) };
    };
    const withK = await fit(true);
    const without = await fit(false);
    study.ablation = { kind, valWith: withK.val, valWithout: without.val, testWith: withK.test, testWithout: without.test };
    study.importance = permutationImportance(kind, withK.model, withK.fs, val);
  }
  return study;
}

/** drop of validation ±10 % accuracy (points) when a feature (or a whole group) is shuffled */
function permutationImportance(kind: string, model: Regressor, fs: FeatureSpace, val: SampleRow[]): NonNullable<ModuleStudy['importance']> {
  const X = encodeAs(fs, val);
  const y = val.map((r) => r.latency_ms);
  const base = accuracy(model.predict(X), y).within10;
  const rot = (cols: number[]) => {
    const shift = Math.max(1, Math.floor(X.length / 3));
    const Xp = X.map((r, i) => {
      const donor = X[(i + shift) % X.length]!;
      const out = r.slice();
      for (const j of cols) out[j] = donor[j]!;
      return out;
    });
    return (base - accuracy(model.predict(Xp), y).within10) * 100;
  };
  const groups = [...new Set(fs.groups)].map((g) => ({ group: g, drop: rot(fs.groups.map((x, j) => (x === g ? j : -1)).filter((j) => j >= 0)) }));
  const top = fs.names.map((f, j) => ({ feature: f, drop: rot([j]) })).sort((a, b) => b.drop - a.drop).slice(0, 5);
  return { kind, groups, top };
}
