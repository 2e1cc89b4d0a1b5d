import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { profile } from '../src/profile/profiler.js';
import { parseSpace } from '../src/profile/space.js';
import { featureSpace, REGRESSORS } from '../src/regressors/index.js';
import { predictConfig, trainAndSelect } from '../src/select/autoselect.js';
import { Store } from '../src/store/db.js';
import { Rng } from '../src/util/random.js';
import { mape } from '../src/util/stats.js';

describe('regressors', () => {
  it('each RM learns a noiseless power law to within a few percent and round-trips through JSON', async () => {
    const rng = new Rng(2);
    const X = Array.from({ length: 300 }, () => [rng.next() * 5, rng.next() * 3, rng.next()]);
    const y = X.map(([a, b]) => 0.01 * Math.exp(0.9 * a! + 0.5 * b!));
    const Xt = X.slice(250);
    const yt = y.slice(250);
    for (const k of REGRESSORS) {
      const m = k.create(1);
      await m.fit(X.slice(0, 250), y.slice(0, 250));
      const err = mape(m.predict(Xt), yt);
      expect(err, k.kind).toBeLessThan(k.kind === 'loglinear' ? 0.5 : 15);
      const restored = k.load(JSON.parse(JSON.stringify(m.toJSON())));
      expect(restored.predict(Xt)).toEqual(m.predict(Xt));
    }
  });

  it('features: log-scaled costs, device settings, one-hot categories', () => {
    const fs = featureSpace(getModule('activation'));
    expect(fs.names).toContain('act=gelu');
    const v = fs.encode({
      params_json: JSON.stringify({ batch: 1, hw: 8, c: 8, act: 'gelu' }),
      threads: 2, load_workers: 1, load_duty: 0.5,
      macs: 0, flops: 100, params: 0, input_bytes: 2048, output_bytes: 2048, weight_bytes: 0, activation_bytes: 4096, intensity: 0.02, nodes: 5,
    });
    expect(v).toHaveLength(fs.names.length);
    expect(v[fs.names.indexOf('threads')]).toBe(2);
    expect(v[fs.names.indexOf('load')]).toBe(0.5);
    expect(v[fs.names.indexOf('act=gelu')]).toBe(1);
    expect(v[fs.names.indexOf('act=relu')]).toBe(0);
  });
});

describe('auto-selection on real measurements', () => {
  it('trains every RM on a profiled dataset, selects one, predicts unseen configs', async () => {
    const store = new Store(':memory:');
    const m = getModule('pwconv');
    const space = parseSpace({ params: { batch: [1], hw: { min: 4, max: 28 }, cin: { min: 8, max: 128, step: 8 }, cout: { min: 8, max: 128, step: 8 } } }, m);
    await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 60, space, timing: { maxTimeMs: 30 } });
    const r = await trainAndSelect(store, 'pwconv@ort-cpu');
    expect(r.candidates.map((c) => c.kind).sort()).toEqual(REGRESSORS.map((k) => k.kind).sort());
    expect(r.candidates.filter((c) => c.selected)).toHaveLength(1);
    for (const c of r.candidates) {
      expect(Number.isFinite(c.mape)).toBe(true);
      expect(c.predictUs).toBeGreaterThan(0);
      expect(c.sizeBytes).toBeGreaterThan(0);
    }
    // the selected model is the cheapest one within the accuracy tolerance of the best
    const best = Math.min(...r.candidates.map((c) => c.mape));
    const sel = r.candidates.find((c) => c.selected)!;
    expect(sel.mape).toBeLessThanOrEqual(Math.max(best * 1.1, best + 1));
    // a bigger pointwise conv is predicted slower than a tiny one (monotone in the real signal)
    const dev = { threads: 1, optLevel: 'all' as const, loadWorkers: 0, loadDuty: 0 };
    const small = predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 4, cin: 8, cout: 8 }, dev);
    const big = predictConfig(store, 'pwconv@ort-cpu', { batch: 1, hw: 28, cin: 128, cout: 128 }, dev);
    expect(big.ms).toBeGreaterThan(small.ms * 3);
    store.close();
  });
});
