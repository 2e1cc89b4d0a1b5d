import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledFashionMnist, imageAsInput } from '../src/data/fmnist.js';
import { openCacheTarget, startEngine } from '../src/earlyexit/setup.js';
import { HeadPredictor } from '../src/earlyexit/head-model.js';
import { readRoundFile, writeRoundFile } from '../src/earlyexit/round-file.js';
import { InThreadTrainer, ProcessTrainer, type RoundOptions, type RoundRecord, type TrainingRound } from '../src/earlyexit/trainer.js';
import { Rng } from '../src/util/random.js';

/**
 * A learnable round (the class is the argmax of the first C features). Record ids shift by 100 per
 * seed, so consecutive rounds share half their records; a record's content depends on its id
 * alone, as in the engine (id = request number).
 */
function round(seed: number, o: RoundOptions = { epochs: 3, batchSize: 32 }): TrainingRound {
  const d = 24;
  const C = 5;
  const records = new Map<number, RoundRecord>();
  for (let id = seed * 100; id < seed * 100 + 200; id++) {
    const rng = new Rng(id + 1);
    const x = Float32Array.from({ length: d }, () => rng.normal());
    let best = 0;
    for (let c = 1; c < C; c++) if (x[c]! > x[best]!) best = c;
    const teacher = new Float32Array(C);
    teacher[best] = 1;
    records.set(id, { features: [undefined, x], teacher });
  }
  const ids = [...records.keys()];
  return { records, heads: [{ key: 'a', spec: { inDim: d, hidden: 16, classes: C, learningRate: 5e-3, seed: 3 }, cut: 1, train: ids, eval: ids.slice(0, 10) }], options: o };
}

describe('the round file (how a round reaches the trainer process)', () => {
  it('gives back every record, hole and id as written, from views with offsets; a truncated file is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'latencylab-round-'));
    try {
      const big = Float32Array.from({ length: 64 }, (_, i) => i / 7);
      const add: Array<[number, RoundRecord]> = [
        [17, { teacher: Float32Array.of(0.25, 0.75), features: [big.subarray(3, 11), undefined, big.subarray(40, 45)] }],
        [4, { teacher: Float32Array.of(1, 0), features: [undefined, big.subarray(0, 1)] }],
      ];
      const file = path.join(dir, 'r.bin');
      const heads = [{ key: 'h', spec: { inDim: 8, hidden: 4, classes: 2, learningRate: 1e-3, seed: 1 }, cut: 0, train: [17], eval: [4, 17] }];
      writeRoundFile(file, { add, keep: Float64Array.of(4, 17, 99), heads, options: { epochs: 2, batchSize: 8 } });
      const back = readRoundFile(file);
      expect(back.heads).toEqual(heads);
      expect(back.options).toEqual({ epochs: 2, batchSize: 8 });
      expect([...back.keep]).toEqual([4, 17, 99]);
      expect(back.add.map(([id]) => id)).toEqual([17, 4]);
      back.add.forEach(([, r], k) => {
        const want = add[k]![1];
        expect([...r.teacher]).toEqual([...want.teacher]);
        expect(r.features.length).toBe(want.features.length);
        want.features.forEach((f, c) => (f ? expect([...r.features[c]!]).toEqual([...f]) : expect(r.features[c]).toBeUndefined()));
      });
      // fuzz: random bytes overwritten anywhere, or cut anywhere: a clear error or a well-formed round, never a hang or a crash
      const good = readFileSync(file);
      const rng = new Rng(5);
      for (let k = 0; k < 300; k++) {
        const bad = Buffer.from(good);
        if (k % 3 === 0) writeFileSync(file, bad.subarray(0, rng.int(0, bad.length - 1)));
        else {
          for (let j = 0; j < 1 + (k % 4); j++) bad[rng.int(0, bad.length - 1)] = rng.int(0, 255);
          writeFileSync(file, bad);
        }
        try {
          const r = readRoundFile(file);
          for (const [, rec] of r.add) expect(rec.teacher).toBeInstanceOf(Float32Array);
        } catch (e) {
          expect((e as Error).message).toMatch(/training round file .*: /);
        }
      }
      writeFileSync(file, good);
      truncateSync(file, good.length - 6);
      expect(() => readRoundFile(file)).toThrow(/round file .*truncated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cache-head trainers', () => {
  it('a trainer process gives the same weights and views as training on this thread, and keeps optimiser state across rounds', async () => {
    const here = new InThreadTrainer();
    const proc = new ProcessTrainer();
    try {
      for (let k = 0; k < 2; k++) {
        const [a] = await here.train(round(k));
        const [b] = await proc.train(round(k));
        expect(Array.from(b!.snapshot.w1)).toEqual(Array.from(a!.snapshot.w1));
        expect(Array.from(b!.evalProbs!)).toEqual(Array.from(a!.evalProbs!));
        expect(b!.evalProbs!.length).toBe(10 * 5);
        // the trainer's batched onnxruntime views match the request path's plain-JS prediction
        const r = round(k);
        const js = new HeadPredictor(b!.snapshot, 24, 16, 5);
        r.heads[0]!.eval!.forEach((id, i) => {
          const p = js.predict(r.records.get(id)!.features[1]!);
          for (let c = 0; c < 5; c++) expect(b!.evalProbs![i * 5 + c]).toBeCloseTo(p[c]!, 5);
        });
        // the process holds exactly this round's live records (the previous round's others forgotten)
        expect(proc['sent'].size).toBe(200);
      }
      expect(proc.cpuSeconds()).toBeGreaterThan(0);
      expect(proc.rssBytes()).toBeGreaterThan(10 << 20);
      // on Linux with chrt the trainer runs under SCHED_IDLE, every thread of it
      if (process.platform === 'linux' && spawnSync('chrt', ['--help']).status === 0) {
        expect(proc.policy).toBe('idle');
        const pid = proc['child']!.pid!;
        const tasks = readdirSync(`/proc/${pid}/task`);
        expect(tasks.length).toBeGreaterThan(1);
        // field 41 of /proc/<pid>/task/<tid>/stat is the policy; SCHED_IDLE = 5
        for (const tid of tasks) expect(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[38]).toBe('5');
      }
      // …and V8 in it single-threaded (no GC helper threads bursting on every CPU)
      if (process.platform === 'linux') expect(readFileSync(`/proc/${proc['child']!.pid!}/cmdline`, 'utf8').split('\0')).toContain('--single-threaded');
    } finally {
      await here.close();
      await proc.close();
    }
  }, 60_000);

  it('a trainer process that dies fails the round in flight with a clear error; the next round starts a fresh one', async () => {
    const proc = new ProcessTrainer();
    try {
      await proc.train(round(1, { epochs: 1, batchSize: 32 }));
      const inFlight = proc.train(round(2, { epochs: 3000, batchSize: 8 }));
      const failed = expect(inFlight).rejects.toThrow(/trainer process ended \(SIGKILL\)/);
      await new Promise((r) => setTimeout(r, 300));
      const pid = proc.pid!;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await failed;
      expect(proc.pid).toBeUndefined();
      const [r] = await proc.train(round(3, { epochs: 1, batchSize: 32 }));
      expect(r!.snapshot.w2.length).toBe(16 * 5);
    } finally {
      await proc.close();
    }
  }, 60_000);
});

describe('background training (what the server does)', () => {
  it('maintain({ background: true }) returns while the round trains; requests are answered meanwhile; the heads and their plan go live together', async () => {
    const set = bundledFashionMnist();
    const t = await openCacheTarget('fmnist');
    const { engine } = await startEngine(t, { seed: 2, minCalibration: 200, objective: 'flops', confidenceZ: 1 });
    try {
      let i = 0;
      // fill the pools until a round is due, then let it run in the background
      let started = false;
      while (!started && i < 600) {
        await engine.classify(imageAsInput(set, i++));
        const before = engine.stats().retrains;
        await engine.maintain({ background: true });
        started = engine.stats().retrains === before && engine['roundInFlight'] !== undefined;
      }
      expect(started).toBe(true);
      expect(engine.heads.every((h) => !h.trained)).toBe(true);
      // requests keep being answered by the backbone while the trainer process works
      let servedDuringRound = 0;
      while (engine.heads.every((h) => !h.trained) && servedDuringRound < 5000) {
        const r = await engine.classify(imageAsInput(set, i++ % set.count));
        expect(r.exit).toBeNull();
        servedDuringRound++;
        await engine.maintain({ background: true });
      }
      await engine.settle();
      expect(servedDuringRound).toBeGreaterThan(0);
      const s = engine.stats();
      expect(s.retrains).toBeGreaterThanOrEqual(1);
      expect(s.replans).toBeGreaterThanOrEqual(1);
      expect(engine.heads.some((h) => h.trained)).toBe(true);
      expect(s.maintenance.trainer).toBe('process');
      expect(s.maintenance.trainerCpuSeconds).toBeGreaterThan(0);
      // the enabled caches' thresholds were calibrated on these heads: every cascade entry has one
      expect(engine.cascade.thresholds.length).toBe(engine.cascade.caches.length);
      // a server finishes audits in slices (sliceMs 0: one an call): each call finishes exactly one
      // pending audit and says whether more are left; none is lost (every audit is filed)
      const pending = () => (engine as unknown as { path: { auditsPending: number } }).path.auditsPending;
      let sliced = 0;
      for (let k = 0; k < 1500 && sliced < 3; k++) {
        await engine.classify(imageAsInput(set, i++ % set.count));
        if (k % 40 !== 39) continue;
        const filedBefore = engine.stats().trainingRecords.audited + engine.stats().calibrationRecords;
        const before = pending();
        const rep = await engine.maintain({ background: true, sliceMs: 0 });
        if (before === 0) continue;
        expect(pending()).toBe(before - 1);
        expect(rep.more).toBe(before > 1);
        expect(engine.stats().trainingRecords.audited + engine.stats().calibrationRecords).toBe(filedBefore + 1);
        if (before > 1) sliced++;
      }
      expect(sliced).toBeGreaterThan(0);
      await engine.maintain();
      expect(pending()).toBe(0);
    } finally {
      await engine.dispose();
    }
  }, 120_000);
});
