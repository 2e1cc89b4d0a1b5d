import { describe, expect, it } from 'vitest';
import { allowedDisagreements, calibrationSizeFor, calibrateCascade, DEFAULT_Z, calibrateThreshold, chooseCascade, cascadeCeiling, NO_CACHE, simulateCascade, type AuditView, type CascadeCostModel } from '../src/earlyexit/cascade.js';
import { Rng } from '../src/util/random.js';

const probs = (cls: number, conf: number, classes = 4) => Float32Array.from({ length: classes }, (_, c) => (c === cls ? conf : (1 - conf) / (classes - 1)));

describe('exit thresholds', () => {
  it('needs ~200 agreeing exits before a 99.5 % target lets anything exit', () => {
    const pairs = (n: number) => Array.from({ length: n }, (_, i) => ({ conf: 0.9 + i * 1e-5, agree: true }));
    expect(calibrateThreshold(pairs(150), 0.995)).toBe(Infinity);
    expect(calibrateThreshold(pairs(400), 0.995)).toBeCloseTo(0.9, 5); // all 400 may exit
  });

  it('disagreements among confident requests raise the threshold above them', () => {
    const rng = new Rng(1);
    const pairs = Array.from({ length: 2000 }, () => {
      const conf = rng.next();
      return { conf, agree: conf > 0.6 || rng.next() < 0.5 };
    });
    const tau = calibrateThreshold(pairs, 0.995);
    const exits = pairs.filter((p) => p.conf >= tau);
    expect(tau).toBeGreaterThan(0.55);
    expect(exits.filter((p) => !p.agree).length / exits.length).toBeLessThanOrEqual(0.005);
  });

  it('a cascade calibrates each cache on what the earlier ones let through', () => {
    // cache 0 is confident and right on the first half; cache 1 on everything
    const recs: AuditView[] = Array.from({ length: 1000 }, (_, i) => ({ teacherTop: i % 4, probs: [i < 500 ? probs(i % 4, 0.99) : probs((i + 1) % 4, 0.4), probs(i % 4, 0.95)] }));
    const c = calibrateCascade(recs, [0, 1], 0.995);
    const cost: CascadeCostModel = { cuts: 2, segment: (a, b) => b - a, head: () => 0.1 };
    const est = simulateCascade(recs, c, cost);
    expect(est.exitRates[0]).toBeCloseTo(0.5, 2);
    expect(est.exitRates[1]).toBeCloseTo(0.5, 2);
    expect(est.agreement).toBe(1);
    // cost: half pay segment(-1,0)+head, half pay segment(-1,0)+head+segment(0,1)+head
    expect(est.meanCost).toBeCloseTo(0.5 * 1.1 + 0.5 * 2.2, 6);
  });
});

describe('overall vs per-exit agreement', () => {
  // a cache that is confident (and right) on 10 % of 400 requests, unsure on the rest
  const recs: AuditView[] = Array.from({ length: 400 }, (_, i) => ({ teacherTop: i % 4, probs: [i < 40 ? probs(i % 4, 0.99) : probs((i + 1) % 4, 0.5)] }));
  it('overall: 40 agreeing exits out of 400 keep the total agreement at 100 % — allowed', () => {
    const c = calibrateCascade(recs, [0], 0.995, 'overall', 1);
    expect(c.thresholds[0]).toBeCloseTo(0.99, 6);
  });
  it('per-exit: 40 exits are too few evidence for 99.5 % among exits — refused', () => {
    expect(calibrateCascade(recs, [0], 0.995, 'per-exit').thresholds[0]).toBe(Infinity);
  });
  it('overall: the disagreement budget (Wilson bound) is never exceeded', () => {
    const rng = new Rng(4);
    const many: AuditView[] = Array.from({ length: 2000 }, (_, i) => {
      const conf = 0.3 + 0.7 * rng.next();
      const agree = rng.next() < conf;
      return { teacherTop: i % 4, probs: [probs(agree ? i % 4 : (i + 1) % 4, conf), probs(i % 4, 0.97)] };
    });
    const c = calibrateCascade(many, [0, 1], 0.995, 'overall', DEFAULT_Z);
    const est = simulateCascade(many, c, { cuts: 2, segment: () => 1, head: () => 0 });
    expect(2000 * (1 - est.agreement)).toBeLessThanOrEqual(allowedDisagreements(2000, 0.995, DEFAULT_Z));
    expect(allowedDisagreements(2000, 0.995, DEFAULT_Z)).toBeGreaterThan(2);
    expect(allowedDisagreements(400, 0.995, DEFAULT_Z)).toBe(-1); // too few records for any exit
    // the engine's default warm-up: the fewest records on which one disagreement is allowed
    for (const [target, k] of [[0.995, 1], [0.99, 1], [0.995, 2]] as const) {
      const n = calibrationSizeFor(target, DEFAULT_Z, k);
      expect(allowedDisagreements(n, target, DEFAULT_Z)).toBeGreaterThanOrEqual(k);
      expect(allowedDisagreements(n - 10, target, DEFAULT_Z)).toBeLessThan(k);
    }
    expect(calibrationSizeFor(0.995, DEFAULT_Z, 1)).toBe(1170);
    expect(() => calibrationSizeFor(1, DEFAULT_Z, 1)).toThrow(/target agreement/);
    expect(est.exitRates[0]).toBeGreaterThan(0.05);
  });
});

describe('choosing which caches to enable', () => {
  const cost: CascadeCostModel = { cuts: 3, segment: (a, b) => b - a, head: () => 0.2 };
  it('no cache when none is confident enough to pay for itself', () => {
    const recs: AuditView[] = Array.from({ length: 600 }, (_, i) => ({ teacherTop: 0, probs: [probs(i % 2, 0.6), probs(i % 2, 0.6), probs(i % 2, 0.6)] }));
    const r = chooseCascade(recs, [0, 1, 2], cost, { target: 0.995, maxActive: 3, budgetBytes: 1e9, headBytes: () => 1 });
    expect(r.cascade.caches).toEqual([]);
    expect(r.estimate.meanCost).toBe(4); // segment(−1, 3)
  });

  it('the earliest cache that is right often enough; a memory budget can rule it out', () => {
    const recs: AuditView[] = Array.from({ length: 1000 }, (_, i) => ({ teacherTop: i % 4, probs: [probs(i % 4, 0.99), probs(i % 4, 0.99), probs(i % 4, 0.99)] }));
    const r = chooseCascade(recs, [0, 1, 2], cost, { target: 0.995, maxActive: 2, budgetBytes: 1e9, headBytes: () => 1 });
    expect(r.cascade.caches).toEqual([0]);
    expect(r.estimate.meanCost).toBeCloseTo(1.2, 6);
    const tight = chooseCascade(recs, [0, 1, 2], cost, { target: 0.995, maxActive: 2, budgetBytes: 10, headBytes: (i) => (i === 0 ? 100 : 5) });
    expect(tight.cascade.caches).toEqual([1]);
  });
});

describe('sharing the disagreement budget', () => {
  const cost: CascadeCostModel = { cuts: 2, segment: (a, b) => b - a, head: () => 0 };
  // 1,200 records: the Wilson bound (z = 2) allows exactly one disagreement at 99.5 %
  const n = 1200;
  it('spends a single allowed disagreement on the cache where it saves most', () => {
    expect(allowedDisagreements(n, 0.995, DEFAULT_Z)).toBe(1);
    // cache 0 is right and confident on 80 % of requests, except one confident miss (conf 0.999)
    // that keeps it shut at zero disagreements; cache 1 is right on everything
    const recs: AuditView[] = Array.from({ length: n }, (_, i) => ({
      teacherTop: i % 4,
      probs: [i === 0 ? probs(1, 0.999) : i % 5 ? probs(i % 4, 0.99) : probs((i + 1) % 4, 0.4), probs(i % 4, 0.95)],
    }));
    const r = chooseCascade(recs, [0, 1], cost, { target: 0.995, maxActive: 2, budgetBytes: Infinity, headBytes: () => 0 });
    expect(r.cascade.caches).toEqual([0, 1]);
    expect(r.estimate.exitRates[0]).toBeGreaterThan(0.79);
    expect(n * (1 - r.estimate.agreement)).toBeCloseTo(1, 9);
    // halving the budget along the cascade (calibrateCascade) leaves cache 0 shut
    const halved = simulateCascade(recs, calibrateCascade(recs, [0, 1], 0.995), cost);
    expect(halved.exitRates[0]).toBe(0);
    expect(r.estimate.meanCost).toBeLessThan(halved.meanCost);
  });

  it('never lets more disagreements through than the bound allows, whatever the records', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 5; trial++) {
      const m = 900 + Math.floor(rng.next() * 2000);
      const recs: AuditView[] = Array.from({ length: m }, (_, i) => ({
        teacherTop: i % 4,
        probs: [0.7, 0.85, 0.95].map((q) => {
          const conf = 0.3 + 0.7 * rng.next();
          return probs(rng.next() < Math.min(1, conf * q + 0.1) ? i % 4 : (i + 1) % 4, conf);
        }),
      }));
      const r = chooseCascade(recs, [0, 1, 2], { cuts: 3, segment: (a, b) => b - a, head: () => 0.05 }, { target: 0.995, maxActive: 3, budgetBytes: Infinity, headBytes: () => 0 });
      expect(Math.round(m * (1 - r.estimate.agreement))).toBeLessThanOrEqual(Math.max(0, allowedDisagreements(m, 0.995, DEFAULT_Z)));
    }
  });
});

describe('in-situ costs for the manager', () => {
  it('uses measured segment means, and scales the profile for segments not run yet', async () => {
    const { LiveCosts } = await import('../src/earlyexit/live-costs.js');
    const live = new LiveCosts({ full: 1, audit: 1.05, fine: [0.3, 0.3, 0.4], splitOverhead: 0 });
    expect(live.segment(-1, 0)).toBeCloseTo(0.3, 9); // nothing measured: the profile
    for (let i = 0; i < 30; i++) live.observeSegment(-1, 0, 0.36); // 20 % slower in situ
    live.observeSegment(-1, 0, 50); // one interference spike is clipped, not averaged in
    expect(live.segment(-1, 0)).toBeLessThan(0.5);
    expect(live.ratio()).toBeGreaterThan(1.15);
    expect(live.segment(0, 2)).toBeCloseTo(0.7 * live.ratio(), 9);
    expect(live.head(1, 0.02)).toBe(0.02);
    // a segment the cascade stopped using is priced from the profile again once its figure is stale
    for (let i = 0; i < 30; i++) live.observeSegment(0, 2, 5);
    expect(live.segment(0, 2)).toBeCloseTo(5, 6);
    for (let i = 0; i < 2100; i++) live.observeSegment(-1, 0, 0.36);
    expect(live.segment(0, 2)).toBeCloseTo(0.7 * live.ratio(), 9);
    expect(live.ratio()).toBeCloseTo(1.2, 2); // from the segment still in use only
  });
});

describe('in-sample ceiling', () => {
  const rng = new Rng(7);
  // three caches of rising quality; agreement rises with confidence
  const recs: AuditView[] = Array.from({ length: 1200 }, (_, i) => ({
    teacherTop: i % 4,
    probs: [0.6, 0.75, 0.9].map((q) => {
      const conf = 0.3 + 0.7 * rng.next();
      return probs(rng.next() < Math.min(1, conf * q + 0.2) ? i % 4 : (i + 1) % 4, conf);
    }),
  }));
  const cost: CascadeCostModel = { cuts: 3, segment: (a, b) => b - a, head: () => 0.05 };

  it('keeps the target on the records and never costs more than the calibrated choice', () => {
    const c = cascadeCeiling(recs, [0, 1, 2], cost, { target: 0.99, maxActive: 2 });
    expect(c.estimate.agreement).toBeGreaterThanOrEqual(0.99);
    expect(c.cascade.caches.length).toBeGreaterThan(0);
    const calibrated = chooseCascade(recs, [0, 1, 2], cost, { target: 0.99, z: 0, maxActive: 2, budgetBytes: Infinity, headBytes: () => 0 });
    expect(c.estimate.meanCost).toBeLessThanOrEqual(calibrated.estimate.meanCost + 1e-12);
  });

  it('matches a brute-force search over single caches', () => {
    const c = cascadeCeiling(recs, [0, 1, 2], cost, { target: 0.99, maxActive: 1 });
    let best = simulateCascade(recs, NO_CACHE, cost).meanCost;
    for (const k of [0, 1, 2]) {
      for (const tau of new Set(recs.map((r) => Math.max(...r.probs[k]!)))) {
        const e = simulateCascade(recs, { caches: [k], thresholds: [tau] }, cost);
        if (e.agreement >= 0.99 && e.meanCost < best) best = e.meanCost;
      }
    }
    expect(c.estimate.meanCost).toBeCloseTo(best, 9);
  });
});

describe('cache heads that scale to many classes', () => {
  it('a 1,000-class head is narrowed to fit half the memory budget; a head that fits at full width keeps it', async () => {
    const { headBytes, hiddenForBudget } = await import('../src/earlyexit/head.js');
    const budget = 512 * 1024;
    for (const inDim of [640, 1000, 2560]) {
      // the default width is over the whole budget for these: the case that enabled no cache at all
      expect(headBytes(inDim, 96, 1000)).toBeGreaterThan(budget);
      const h = hiddenForBudget(inDim, 1000, budget, 96);
      expect(h).toBeLessThan(96);
      expect(headBytes(inDim, h, 1000)).toBeLessThanOrEqual(budget / 2);
      expect(headBytes(inDim, h + 1, 1000)).toBeGreaterThan(budget / 2);
    }
    expect(hiddenForBudget(1280, 10, budget, 96)).toBe(96);
    expect(hiddenForBudget(100_000, 1000, budget, 96)).toBe(8);
  });
});

describe('the cheaper no-exit path (skip to the end)', () => {
  // half exit at cache 0 (confident), a quarter at cache 1, and a quarter neither answers — which
  // cache 0 already marks with a very low confidence
  const recs: AuditView[] = Array.from({ length: 1600 }, (_, i) => {
    const t = [0, 0, 1, 2][i % 4]!;
    const cls = Math.floor(i / 4) % 4;
    const at0 = t === 0 ? probs(cls, 0.99) : t === 1 ? probs((cls + 1) % 4, 0.5) : probs((cls + 1) % 4, 0.3);
    const at1 = t === 2 ? probs((cls + 2) % 4, 0.5) : probs(cls, 0.99);
    return { teacherTop: cls, probs: [at0, at1] };
  });
  // splitting is expensive: each segment has a fixed overhead of 0.5 beyond its length
  const cost: CascadeCostModel = { cuts: 4, segment: (a, b) => b - a + 0.5, head: () => 0.1 };

  it('learns to send the hopeless requests straight to the end: cheaper, same exits elsewhere, agreement no lower', () => {
    const plain = chooseCascade(recs, [0, 1], cost, { target: 0.995, maxActive: 2, budgetBytes: 1e9, headBytes: () => 1 });
    const tuned = chooseCascade(recs, [0, 1], cost, { target: 0.995, maxActive: 2, budgetBytes: 1e9, headBytes: () => 1, skips: true });
    expect(plain.cascade.caches).toEqual([0, 1]);
    expect(tuned.cascade.caches).toEqual([0, 1]);
    expect(tuned.cascade.skipBelow![0]).toBeGreaterThan(0.3);
    expect(tuned.cascade.skipBelow![0]).toBeLessThanOrEqual(0.5);
    expect(tuned.estimate.skipRate).toBeCloseTo(1 / 4, 2);
    expect(tuned.estimate.exitRates).toEqual(plain.estimate.exitRates);
    expect(tuned.estimate.agreement).toBeGreaterThanOrEqual(plain.estimate.agreement);
    // a quarter of the requests save a split's overhead and head 1: 0.25 × (0.5 + 0.1)
    expect(tuned.estimate.meanCost).toBeCloseTo(plain.estimate.meanCost - 0.15, 6);
  });

  it('never skips when skipping would cost more (a free split)', () => {
    const free: CascadeCostModel = { cuts: 4, segment: (a, b) => b - a, head: () => 0 };
    const tuned = chooseCascade(recs, [0, 1], free, { target: 0.995, maxActive: 2, budgetBytes: 1e9, headBytes: () => 1, skips: true });
    expect(tuned.cascade.skipBelow ?? [0]).toEqual(tuned.cascade.caches.map(() => 0));
  });
});
