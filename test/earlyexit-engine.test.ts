import { describe, expect, it } from 'vitest';
import { bundledFashionMnist, imageAsInput, streamOrder } from '../src/data/fmnist.js';
import { calibrationSizeFor } from '../src/earlyexit/cascade.js';
import { DEFAULT_ENGINE } from '../src/earlyexit/engine-options.js';
import { trainOfflineBaseline } from '../src/earlyexit/offline.js';
import { replayStream, summarise } from '../src/earlyexit/replay.js';
import { openCacheTarget, startEngine } from '../src/earlyexit/setup.js';
import { Rng } from '../src/util/random.js';

const set = bundledFashionMnist();
const N = 2000;

async function replay(truth: (i: number) => number) {
  const t = await openCacheTarget('fmnist');
  const { engine, costs } = await startEngine(t, { seed: 3, minCalibration: 500, manageEvery: 200, objective: 'flops', confidenceZ: 1 });
  const { engine: baseline } = await startEngine(t, { cache: false }, costs);
  const { records } = await replayStream(engine, baseline, N, (i) => imageAsInput(set, i), truth);
  const weights = engine.heads.filter((h) => h.trained).map((h) => h.toJSON().w2.slice(0, 20));
  const stats = engine.stats();
  const rounds = engine.events.filter((e) => e.kind === 'round');
  // ends the trainer process and removes its hand-over folder in /dev/shm
  await engine.dispose();
  await baseline.dispose();
  return { records, stats, weights, rounds, flops: t.model.analysis.totalFlops };
}

describe('online caching on the Fashion-MNIST backbone (bundled 2,000-image sample)', () => {
  let first: Awaited<ReturnType<typeof replay>>;

  it('learns caches from unlabeled requests: early exits happen, FLOPs fall, answers agree with the backbone', async () => {
    first = await replay((i) => set.labels[i]!);
    const s = first.stats;
    expect(s.requests).toBe(N);
    expect(s.caches.some((c) => c.enabled)).toBe(true);
    const late = summarise(first.records, 1200, N, first.flops);
    expect(late.earlyExitRate).toBeGreaterThan(0.3);
    expect(late.flopsReduction).toBeGreaterThan(0.2);
    expect(late.agreement).toBeGreaterThanOrEqual(0.98);
    expect(Math.abs(late.accuracy! - late.backboneAccuracy!)).toBeLessThanOrEqual(0.02);
    // every answer is accounted for
    expect(s.caches.reduce((a, c) => a + c.exits, 0) + s.backboneAnswers).toBe(N);
    // the segmented path by default (the fused cascade is opt-in)
    expect(s.fusedAnswers).toBe(0);
    // audits are answered like other requests (some by a cache); the rest of the backbone ran after
    // the answer and filed them: calibration grew past the first phase, agreement was observed
    expect(first.records.slice(1200).some((r) => r.audited && r.exit !== null)).toBe(true);
    expect(s.calibrationRecords).toBeGreaterThan(500);
    // answers teach the caches before the one that gave them, never that cache or later ones: the
    // last cut learns only from the backbone's own answers
    const fromBackbone = s.trainingRecords.backbone + s.trainingRecords.audited;
    expect(s.trainingRecords.answered).toBeGreaterThan(100);
    expect(s.caches.at(-1)!.trainingRecords).toBe(fromBackbone);
    expect(s.caches[0]!.trainingRecords).toBeGreaterThan(fromBackbone);
    for (const [i, c] of s.caches.entries()) if (i) expect(c.trainingRecords).toBeLessThanOrEqual(s.caches[i - 1]!.trainingRecords);
    expect(s.agreementEstimate!.auditedRequests).toBeGreaterThan(10);
    expect(s.agreementEstimate!.value).toBeGreaterThanOrEqual(0.97);
    // every training round is an event saying why it ran: the first, then idle or new-record rounds
    expect(first.rounds).toHaveLength(s.maintenance.retrains);
    expect(first.rounds[0]).toMatchObject({ trigger: 'first' });
    for (const r of first.rounds.slice(1)) expect(['idle', 'new-records']).toContain(r.trigger);
    for (const r of first.rounds) expect(r.records).toBeLessThanOrEqual(Math.min(r.pool, DEFAULT_ENGINE.roundSize));
  }, 240_000);

  it('labels never reach the training path: scrambled labels give identical decisions and weights', async () => {
    const rng = new Rng(99);
    const scrambled = Array.from({ length: N }, () => rng.int(0, 9));
    const second = await replay((i) => scrambled[i]!);
    expect(second.records.map((r) => [r.exit, r.label, r.audited])).toEqual(first.records.map((r) => [r.exit, r.label, r.audited]));
    expect(second.weights).toEqual(first.weights);
    // …while the evaluation did read them (so this test could fail)
    const acc = (rs: typeof first.records) => rs.filter((r) => r.label === r.truth).length / rs.length;
    expect(acc(first.records)).toBeGreaterThan(0.85);
    expect(acc(second.records)).toBeLessThan(0.3);
  }, 240_000);
});

/** the backbone with SDN-style heads trained with labels on the first n bundled images */
async function offlineHeads(n: number, epochs: number) {
  const t = await openCacheTarget('fmnist');
  await t.model.warm(t.samples[0]!);
  const inputs = Array.from({ length: n }, (_, i) => imageAsInput(set, i));
  const b = await trainOfflineBaseline(t.model, inputs, Array.from({ length: n }, (_, i) => set.labels[i]!), { epochs });
  return { t, inputs, b };
}

describe('offline baseline (SDN/BranchyNet-style heads trained with labels)', () => {
  it('picks one threshold that keeps validation accuracy within 0.5 points of the backbone', async () => {
    const { t, b } = await offlineHeads(800, 10);
    expect(b.cascade.caches).toEqual(t.model.cuts.map((_, i) => i));
    expect(b.threshold).toBeGreaterThanOrEqual(0.5);
    expect(b.validation.accuracy).toBeGreaterThanOrEqual(b.validation.backboneAccuracy - 0.005);
  }, 120_000);
});

describe('a shift of the class mix (bundled sample: classes 0–4, then 5–9)', () => {
  it('is detected once (not again when the window has passed it); caches come back calibrated on the new mix', async () => {
    const order = streamOrder(set, set.count, true);
    const t = await openCacheTarget('fmnist');
    const { engine, costs } = await startEngine(t, { seed: 3, minCalibration: 300, shiftMinCalibration: 250, manageEvery: 100, objective: 'flops', confidenceZ: 1 });
    const { engine: baseline } = await startEngine(t, { cache: false }, costs);
    const { records } = await replayStream(engine, baseline, order.length, (i) => imageAsInput(set, order[i]!), (i) => set.labels[order[i]!]!);
    const s = engine.stats();
    await engine.dispose();
    await baseline.dispose();
    expect(s.shiftsDetected).toBe(1);
    const shifts = engine.events.filter((e) => e.kind === 'shift');
    expect(shifts).toHaveLength(1);
    const at = shifts[0]!.request;
    // re-armed with the (smaller) after-shift requirement, not the start-up one
    expect(shifts[0]).toMatchObject({ minCalibration: 250 });
    const firstNew = order.findIndex((i) => set.labels[i]! >= 5);
    // detected within a window of answers after the mix changed
    expect(at).toBeGreaterThan(firstNew);
    expect(at).toBeLessThan(firstNew + 600);
    // caches come back once the new mix is calibrated, and their answers agree with the backbone
    const back = engine.events.filter((e) => e.kind === 'cascade' && e.request > at && e.from.length === 0 && e.to.length > 0);
    expect(back.length).toBeGreaterThan(0);
    const after = summarise(records, back[0]!.request, records.length, t.model.analysis.totalFlops);
    expect(after.earlyExitRate).toBeGreaterThan(0.3);
    expect(after.agreement).toBeGreaterThanOrEqual(0.98);
  }, 240_000);
});

describe('the cheaper no-exit path on the request path', () => {
  it('a request below the skip threshold runs straight to the end: no later cache, backbone answer, fewer FLOPs', async () => {
    const { t, inputs, b } = await offlineHeads(300, 2);
    const { engine, costs } = await startEngine(t, { online: false });
    const { engine: plain } = await startEngine(t, { cache: false }, costs);
    const C = t.model.cuts.length;
    const m = t.model;
    const x = inputs[0]!;
    const backbone = await plain.classify(x);
    // never exit; cache 0 always skips (every confidence is below 1.01)
    await engine.install(b.heads, { caches: [0, 2], thresholds: [2, 2], skipBelow: [1.01, 0] });
    const skipped = await engine.classify(x);
    expect(skipped.exit).toBeNull();
    expect(skipped.label).toBe(backbone.label);
    expect(skipped.flops).toBeCloseTo(m.flopsBetween(-1, 0) + m.segmentPoolFlops(-1, 0) + engine.heads[0]!.flops + m.flopsBetween(0, C) + m.segmentPoolFlops(0, C), 0);
    // the same cascade without the skip pays cache 2's head and split
    await engine.install(b.heads, { caches: [0, 2], thresholds: [2, 2] });
    const through = await engine.classify(x);
    expect(through.exit).toBeNull();
    expect(through.label).toBe(backbone.label);
    expect(through.flops).toBeGreaterThan(skipped.flops + engine.heads[2]!.flops * 0.99);
    await engine.dispose();
  }, 120_000);

  it('lean segments (recordShare 0) answer like feature-rich ones, pooling only the enabled caches', async () => {
    const { t, inputs, b } = await offlineHeads(300, 2);
    const { engine: rich, costs } = await startEngine(t, { online: false });
    const { engine: lean } = await startEngine(t, { online: false, recordShare: 0 }, costs);
    const m = t.model;
    const C = m.cuts.length;
    const cascade = { caches: [0, 3], thresholds: [0.9, 0.9] };
    await rich.install(b.heads, cascade);
    await lean.install(b.heads, cascade);
    let sawEnd = false;
    for (const x of inputs.slice(0, 60)) {
      const [a, l] = [await rich.classify(x), await lean.classify(x)];
      expect(l.label).toBe(a.label);
      expect(l.exit).toBe(a.exit);
      if (a.exit === null) {
        sawEnd = true;
        // the rich path pooled cuts 1, 2 and 4 too (for caches not enabled); the lean one did not
        expect(a.flops - l.flops).toBeCloseTo(m.poolFlops(1) + m.poolFlops(2) + m.poolFlops(4), 0);
      }
    }
    expect(sawEnd).toBe(true);
    expect(m.pooledIn(0, 3, true)).toEqual([3]);
    expect(m.pooledIn(3, C, true)).toEqual([]);
    await rich.dispose();
    await lean.dispose();
  }, 120_000);

  it("minCalibration 'auto' is the fewest calibration records on which the agreement bound allows one disagreement", async () => {
    const t = await openCacheTarget('fmnist');
    for (const targetAgreement of [0.995, 0.99]) {
      const { engine } = await startEngine(t, { targetAgreement, minCalibration: 'auto', training: 'thread' });
      expect(engine.minCalibration).toBe(calibrationSizeFor(targetAgreement, engine.opts.confidenceZ, 1));
      await engine.dispose();
    }
    const { engine } = await startEngine(t, { minCalibration: 321, training: 'thread' });
    expect(engine.minCalibration).toBe(321);
    await engine.dispose();
    const { engine: byDefault, costs } = await startEngine(t, { training: 'thread' });
    expect(byDefault.minCalibration).toBe(DEFAULT_ENGINE.minCalibration);
    await byDefault.dispose();
    // more than the pool keeps would audit every request for ever: refused, naming both fields
    await expect(startEngine(t, { minCalibration: 2500, training: 'thread' }, costs)).rejects.toThrow(/minCalibration 2500 exceeds calibrationWindow \(2000\)/);
    await expect(startEngine(t, { minCalibration: 'auto', targetAgreement: 0.9995, training: 'thread' }, costs)).rejects.toThrow(/minCalibration 'auto' \(\d+ records at agreement 0.9995.*exceeds calibrationWindow/);
  }, 60_000);

  it('the fused cascade (opt-in) answers like the segmented path: same labels, exits and FLOPs, in one session run', async () => {
    const { t, inputs, b } = await offlineHeads(300, 2);
    const { engine: fused, costs } = await startEngine(t, { online: false, fused: true });
    const { engine: split } = await startEngine(t, { online: false }, costs);
    const cascade = { caches: [0, 2], thresholds: [0.9, 0.8], skipBelow: [0.5, 0] };
    // both engines share the model's compiled heads: the fused one installs last, so its session is current
    await split.install(b.heads, cascade);
    await fused.install(b.heads, cascade);
    const exits = new Set<number | null>();
    for (const x of inputs.slice(0, 80)) {
      const [f, s] = [await fused.classify(x), await split.classify(x)];
      expect(f.fused).toBe(true);
      expect([f.label, f.exit]).toEqual([s.label, s.exit]);
      expect(f.flops).toBeCloseTo(s.flops, 0);
      exits.add(f.exit);
    }
    expect(exits.size).toBeGreaterThan(1);
    expect(fused.stats().fusedAnswers).toBe(80);
    await fused.dispose();
    await split.dispose();
  }, 120_000);
});
