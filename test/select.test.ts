import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { validateParams } from '../src/modules/validate.js';
import { profile } from '../src/profile/profiler.js';
import { parseSpace } from '../src/profile/space.js';
import { featureSpace, getRegressorKind } from '../src/regressors/index.js';
import { adaptivePick } from '../src/select/adaptive.js';
import { profileAdaptive } from '../src/select/adaptive-profile.js';
import { predictConfig, trainAndSelect } from '../src/select/autoselect.js';
import { crossValidate, cvFoldsFor, parseCvFolds } from '../src/select/candidates.js';
import { featureOptionsFor } from '../src/select/split.js';
import { accuracy, type Accuracy } from '../src/select/metrics.js';
import { validationAt } from '../src/select/machine-state.js';
import { choose, paretoFront } from '../src/select/policy.js';
import { extrapolation, trainingRanges } from '../src/select/ranges.js';
import { Store } from '../src/store/db.js';
import { UserError } from '../src/util/errors.js';
import { Rng } from '../src/util/random.js';

const acc = (within10: number, mape = 10): Accuracy => ({ n: 10, within5: within10 / 2, within10, rmspe: mape, mape, p90ape: mape, r2log: 0.9, spearman: 0.9 });
const cands = [
  { kind: 'big', val: acc(0.9), predictUs: 50, sizeBytes: 1e6 },
  { kind: 'fast', val: acc(0.895), predictUs: 1, sizeBytes: 5e5 },
  { kind: 'small', val: acc(0.893), predictUs: 10, sizeBytes: 1e3 },
  { kind: 'bad', val: acc(0.5), predictUs: 0.5, sizeBytes: 500 },
];
const dev = { threads: 1, optLevel: 'all' as const, loadWorkers: 0, loadDuty: 0 };

describe('selection policy', () => {
  it('objectives pick the most accurate, fastest, smallest, or both, within the tolerance', () => {
    expect(choose(cands, 'accuracy').kind).toBe('big');
    expect(choose(cands, 'time').kind).toBe('fast');
    expect(choose(cands, 'space').kind).toBe('small');
    expect(choose(cands, 'balanced').kind).toBe('small');
    expect(choose(cands, 'accuracy', { maxBytes: 6e5 }).kind).toBe('fast');
  });
  it('cross-validation when the validation split is small: --cv-folds parsed, never more folds than samples', () => {
    expect(parseCvFolds('auto')).toBeUndefined();
    expect(parseCvFolds('0')).toBe(0);
    expect(parseCvFolds('10')).toBe(10);
    for (const bad of ['1', '-3', '2.5', 'five', '']) expect(() => parseCvFolds(bad)).toThrow(/--cv-folds: expected auto, 0/);
    expect(cvFoldsFor(undefined, 20, 100)).toBe(5);
    expect(cvFoldsFor(undefined, 40, 200)).toBe(5);
    expect(cvFoldsFor(undefined, 60, 300)).toBe(0);
    expect(cvFoldsFor(0, 20, 100)).toBe(0);
    expect(cvFoldsFor(3, 400, 2000)).toBe(3);
    expect(() => cvFoldsFor(30, 4, 20)).toThrow(UserError);
  });
  it('limits nobody meets: an error naming the limit; the Pareto front keeps the non-dominated', () => {
    expect(() => choose(cands, 'balanced', { maxPredictUs: 0.1 })).toThrow(/--max-predict-us.*fastest: bad/);
    expect(paretoFront(cands).map((c) => c.kind).sort()).toEqual(['bad', 'big', 'fast', 'small']);
    expect(paretoFront([...cands, { kind: 'worse', val: acc(0.8), predictUs: 60, sizeBytes: 2e6 }]).map((c) => c.kind)).not.toContain('worse');
  });
});

describe('parameters and extrapolation', () => {
  it('wrong types, unknown and missing parameters name the field', () => {
    const m = getModule('pwconv');
    expect(() => validateParams(m, { batch: 1, hw: '14', cin: 8, cout: 8 })).toThrow(/params\.hw: expected an integer >= 1, got "14"/);
    expect(() => validateParams(m, { batch: 1, hw: 14, cin: 8 })).toThrow(/params\.cout: missing/);
    expect(() => validateParams(m, { batch: 1, hw: 14, cin: 8, cout: 8, k: 3 })).toThrow(/params\.k: unknown parameter/);
    expect(() => validateParams(getModule('activation'), { batch: 1, hw: 8, c: 8, act: 'tanh' })).toThrow(/params\.act: expected one of/);
  });
  it('flags values outside the trained ranges and unseen device settings', () => {
    const m = getModule('pwconv');
    const rows = [8, 64].map((c) => ({ params_json: JSON.stringify({ batch: 1, hw: 14, cin: c, cout: c }), threads: 1, load_workers: 0, load_duty: 0 }));
    const r = trainingRanges(m, rows);
    expect(extrapolation(r, { batch: 1, hw: 14, cin: 32, cout: 32 }, dev)).toEqual([]);
    expect(extrapolation(r, { batch: 1, hw: 14, cin: 128, cout: 32 }, { ...dev, threads: 2 })).toEqual(['cin=128 > 64', 'threads=2 (trained: 1)']);
  });
});

describe('adaptive sampling', () => {
  it('chooses more configurations where the model errs than a random draw does', async () => {
    const m = getModule('linear');
    const fs = featureSpace(m);
    const rng = new Rng(7);
    const mk = (i: number) => {
      const p = { batch: 1, rows: 1, in: 16 * (1 + Math.floor(rng.next() * 100)), out: 16 * (1 + Math.floor(rng.next() * 100)) };
      const c = m.build(p, 1, false).cost;
      // a jump the features cannot explain smoothly: 'in' above 1024 is 4x slower
      const ms = 1e-6 * c.macs * (p.in > 1024 ? 4 : 1) + 0.001;
      return { params_json: JSON.stringify(p), threads: 1, load_workers: 0, load_duty: 0, macs: c.macs, flops: c.flops, params: c.params, input_bytes: c.inputBytes, output_bytes: c.outputBytes, weight_bytes: c.weightBytes, activation_bytes: c.activationBytes, intensity: c.intensity, nodes: c.nodes, latency_ms: ms, idx: i, big: p.in > 1024 };
    };
    const measured = Array.from({ length: 60 }, (_, i) => mk(i));
    const pool = Array.from({ length: 400 }, (_, i) => mk(i));
    const picked = await adaptivePick(getRegressorKind('loglinear'), fs, measured, pool, 40, { seed: 1 });
    expect(new Set(picked).size).toBe(40);
    const shareNear = (idx: number[]) => idx.filter((i) => Math.abs(JSON.parse(pool[i]!.params_json).in - 1024) < 300).length / idx.length;
    const baseline = shareNear(pool.map((_, i) => i));
    expect(shareNear(picked)).toBeGreaterThan(baseline);
  });
});

describe('adaptive profiling on a real runtime', () => {
  it('grows the plan in rounds up to the budget, no configuration twice, and resumes as a no-op', async () => {
    const store = new Store(':memory:');
    const space = parseSpace({ params: { batch: [1], rows: [1, 16], in: { min: 16, max: 512, step: 16 }, out: { min: 16, max: 512, step: 16 } } }, getModule('linear'));
    const req = { module: 'linear', device: 'ort-cpu', samples: 24, space, name: 'lin', timing: { maxTimeMs: 15, rounds: 2 } };
    const r = await profileAdaptive(store, req, 36, 6);
    expect(r.stopped).toBe(false);
    const ds = store.requireDataset('lin');
    const rows = store.samples(ds.id);
    expect(ds.planned).toBe(36);
    expect(rows).toHaveLength(36);
    expect(new Set(rows.map((x) => x.params_json)).size).toBe(36);
    const again = await profileAdaptive(store, req, 36, 6);
    expect(again.measuredNow).toBe(0);
    await expect(profileAdaptive(store, req, 10, 6)).rejects.toThrow(/--adaptive: the budget \(10\)/);
    store.close();
  });
});

describe('auto-selection on real measurements', () => {
  it('trains the RMs on a profiled dataset, stores them with the dataset version, predicts and flags extrapolation', async () => {
    const store = new Store(':memory:');
    const m = getModule('pwconv');
    const space = parseSpace({ params: { batch: [1], hw: { min: 4, max: 28 }, cin: { min: 8, max: 128, step: 8 }, cout: { min: 8, max: 128, step: 8 } } }, m);
    // 100 samples: with 60 (12 validation rows) the selection flipped between kinds on ties, and one
    // noisy measurement near the small corner could carry a k-NN pick's prediction (flaky in CI)
    await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 100, space, timing: { maxTimeMs: 30 } });
    const r = await trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['loglinear', 'gbt', 'knn'], objective: 'accuracy' });
    expect(r.candidates.map((c) => c.kind)).toEqual(['loglinear', 'gbt', 'knn']);
    expect(r.candidates.filter((c) => c.selected)).toHaveLength(1);
    // 20 validation rows: chosen on 5-fold cross-validation, every sample predicted once out of fold
    expect(r.cvFolds).toBe(5);
    for (const c of r.candidates) expect(c.cv?.n).toBe(100);
    const byCv = [...r.candidates].sort((a, b) => b.cv!.within10 - a.cv!.within10 || a.cv!.mape - b.cv!.mape)[0]!;
    expect(r.candidates.find((c) => c.selected)!.kind).toBe(byCv.kind);
    // on the validation split when asked (or when it is large enough)
    const onSplit = await trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['loglinear', 'gbt', 'knn'], objective: 'accuracy', cvFolds: 0, save: false });
    expect(onSplit.cvFolds).toBe(0);
    expect(onSplit.candidates.every((c) => c.cv === undefined)).toBe(true);
    const best = Math.max(...onSplit.candidates.map((c) => c.val.within10));
    expect(onSplit.candidates.find((c) => c.selected)!.val.within10).toBe(best);
    await expect(trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['loglinear'], cvFolds: 101, save: false })).rejects.toThrow(/101 cross-validation folds for 100 samples/);
    // the out-of-fold figures are those of models that never saw the row: a 1-NN scores 100 % on
    // its own training rows, not out of fold
    const rows = store.samples(store.requireDataset('pwconv@ort-cpu').id);
    const fs = featureSpace(getModule('pwconv'), featureOptionsFor('ort-cpu'));
    const cv = await crossValidate(fs, rows, { folds: 4, kinds: ['knn'] });
    const knn = getRegressorKind('knn').create(1);
    await knn.fit(rows.map((x) => fs.encode(x)), rows.map((x) => x.latency_ms));
    expect(cv.get('knn')!.n).toBe(100);
    expect(cv.get('knn')!.within10).toBeLessThan(accuracy(knn.predict(rows.map((x) => fs.encode(x))), rows.map((x) => x.latency_ms)).within10);
    const stored = store.db.prepare('SELECT metrics_json FROM models WHERE selected = 1').get() as { metrics_json: string };
    const metrics = JSON.parse(stored.metrics_json);
    expect(metrics.dataset.samples).toBe(100);
    expect(metrics.dataset.specHash).toMatch(/^[0-9a-f]{12}$/);
    const small = predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev);
    const big = predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 28, cin: 128, cout: 128 }, dev);
    expect(big.ms).toBeGreaterThan(small.ms * 3);
    expect(small.extrapolated).toEqual([]);
    const far = predictConfig(store, 'pwconv@ort-cpu', { batch: 4, hw: 56, cin: 8, cout: 8 }, dev);
    expect(far.extrapolated).toEqual(expect.arrayContaining(['batch=4 > 1', 'hw=56 > 28']));
    expect(() => predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 'eight', cout: 8 }, dev)).toThrow(/params\.cin/);
    // fuzz the stored model: truncations and flipped characters give a result or a UserError
    const good = (store.db.prepare('SELECT json FROM models WHERE selected = 1').get() as { json: string }).json;
    const frng = new Rng(13);
    for (let i = 0; i < 60; i++) {
      const at = Math.floor(frng.next() * good.length);
      const bad = i % 2 ? good.slice(0, at) : good.slice(0, at) + '"x9-{'[i % 5] + good.slice(at + 1);
      store.db.prepare('UPDATE models SET json = ? WHERE selected = 1').run(bad);
      try {
        const r = predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev);
        expect(r.ms).toBeGreaterThan(0);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
      }
    }
    // a model stored with other feature columns than this version computes: refused, not mis-read
    const other = JSON.parse(good) as { featureNames: string[] };
    expect(other.featureNames.length).toBeGreaterThan(5);
    store.db.prepare('UPDATE models SET json = ? WHERE selected = 1').run(JSON.stringify({ ...other, featureNames: other.featureNames.slice(0, -1) }));
    expect(() => predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev)).toThrow(/other features than this version/);
    // a corrupt stored model: a clear error, the samples untouched
    store.db.prepare("UPDATE models SET json = '{\"format\":2,\"state\":{\"trees\":7}}' WHERE selected = 1").run();
    expect(() => predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev)).toThrow(UserError);
    expect(() => predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev)).toThrow(/cannot be used.*retrain/);
    expect(store.samples(store.requireDataset('pwconv@ort-cpu').id)).toHaveLength(100);
    // too small to train; unknown RM kind
    await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 5, space, name: 'tiny', seed: 3, timing: { maxTimeMs: 20 } });
    await expect(trainAndSelect(store, 'tiny')).rejects.toThrow(/5 samples; at least 20/);
    await expect(trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['xgboost'] })).rejects.toThrow(/unknown regressor 'xgboost'/);
    // the ensemble is composed from the gbt and mlp fitted in the same call: its training time is theirs
    const withEnsemble = await trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['gbt', 'mlp', 'ensemble'] });
    const trainMs = (kind: string) => withEnsemble.candidates.find((c) => c.kind === kind)!.trainMs;
    expect(trainMs('ensemble')).toBe(trainMs('gbt') + trainMs('mlp'));
    expect(predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 8, cin: 16, cout: 16 }, dev).ms).toBeGreaterThan(0);
    expect(withEnsemble.machineState.method.source).toBe('raw'); // no probe, no reference: as measured
    expect(withEnsemble.machineState.candidates).toEqual([]);
    // a machine that drifted: every other chunk of 8 ran 2.5x slower, and the probe timed before
    // each chunk saw it. Training puts the samples back at one state. The timings are replaced by a
    // smooth function of the work first, so the check judges the correction, not how learnable this
    // machine's timings were (a CI run under load ~1.6 once gave probe 0.15 vs raw 0.05 on the real
    // ones: both methods drowned in noise)
    const id = store.requireDataset('pwconv@ort-cpu').id;
    store.db.prepare('UPDATE samples SET latency_ms = (0.004 + 1.5e-9 * macs) * (CASE WHEN (idx / 8) % 2 = 1 THEN 2.5 ELSE 1 END), probe_ms = (CASE WHEN (idx / 8) % 2 = 1 THEN 2.5 ELSE 1 END) WHERE dataset_id = ?').run(id);
    const drifted = await trainAndSelect(store, 'pwconv@ort-cpu', { kinds: ['loglinear', 'gbt'] });
    const st = drifted.machineState;
    expect(st.method).toEqual({ source: 'probe', windowS: 0 });
    const val10 = (source: string, windowS = 0) => st.candidates.find((c) => c.method.source === source && c.method.windowS === windowS)!.val10;
    // 20 validation rows: val10 moves in steps of 0.05, so compare with a tolerance (a CI run had
    // exactly 0.3 vs 0.1, and 0.1 + 0.2 is 0.30000000000000004)
    expect(val10('probe')).toBeGreaterThanOrEqual(val10('raw') + 0.2 - 1e-9);
    expect(st.nominal).toBeGreaterThanOrEqual(1);
    const storedState = JSON.parse((store.db.prepare('SELECT json FROM models WHERE selected = 1 AND dataset_id = ?').get(id) as { json: string }).json).machineState;
    expect(storedState).toMatchObject({ source: 'probe', windowS: 0 });
    // a damaged stored machine state: a clear error naming it, the samples untouched
    const selectedJson = (store.db.prepare('SELECT json FROM models WHERE selected = 1 AND dataset_id = ?').get(id) as { json: string }).json;
    store.db.prepare('UPDATE models SET json = ? WHERE selected = 1 AND dataset_id = ?').run(JSON.stringify({ ...JSON.parse(selectedJson), machineState: { source: 'moon', nominalMs: -1 } }), id);
    expect(() => predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 8, cin: 16, cout: 16 }, dev)).toThrow(/its machine state is malformed.*retrain/);
    expect(store.samples(id)).toHaveLength(100);
    store.db.prepare('UPDATE models SET json = ? WHERE selected = 1 AND dataset_id = ?').run(selectedJson, id);
    // re-measurements of the validation configurations count as validation too: the same timings
    // again change nothing, a later run 1.5x slower (an offset the state missed) scores lower
    const atState = st.rows;
    const alone = await validationAt('pwconv', 'ort-cpu', atState);
    expect(await validationAt('pwconv', 'ort-cpu', atState, {}, atState.map((r) => ({ ...r })))).toBeCloseTo(alone, 10);
    expect(await validationAt('pwconv', 'ort-cpu', atState, {}, atState.map((r) => ({ ...r, latency_ms: r.latency_ms * 1.5 })))).toBeLessThan(alone * 0.6);
    store.close();
  });
});

describe('fuzz: parameter objects and stored models', () => {
  it('random parameter objects give a UserError naming a field or a valid config, never another error', () => {
    const rng = new Rng(11);
    const values = [0, 1, -1, 2.5, 8, 64, 1e9, '8', '', null, true, [], {}, 'same', 'valid', NaN];
    for (const name of ['conv2d', 'linear', 'mhsa', 'activation']) {
      const m = getModule(name);
      for (let i = 0; i < 300; i++) {
        const p: Record<string, unknown> = {};
        for (const s of m.params) if (rng.next() < 0.9) p[s.name] = values[Math.floor(rng.next() * values.length)];
        if (rng.next() < 0.1) p.extra = 1;
        try {
          validateParams(m, p);
        } catch (e) {
          expect(e, JSON.stringify(p)).toBeInstanceOf(UserError);
          expect((e as Error).message).toMatch(/params\.|groups|kernel|channels|heads|divisible|shape|input/);
        }
      }
    }
  });
});
