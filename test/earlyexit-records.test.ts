import { describe, expect, it } from 'vitest';
import { RecordPools, type AuditRecord } from '../src/earlyexit/records.js';
import { SlotArena } from '../src/earlyexit/slot-arena.js';
import { chooseCascade, type AuditView, type CascadeCostModel } from '../src/earlyexit/cascade.js';
import { ViewTable } from '../src/earlyexit/view-table.js';
import { describeEvent, EngineStatistics, EVENTS_KEPT } from '../src/earlyexit/engine-stats.js';
import { Rng } from '../src/util/random.js';

describe('SlotArena', () => {
  it('copies into slots, reuses released ones, grows by chunks, ignores foreign and double releases', () => {
    const a = new SlotArena(3, 2);
    const x = a.take(Float32Array.of(1, 2, 3));
    const y = a.take(Float32Array.of(4, 5, 6));
    expect(a.capacity).toBe(2);
    const z = a.take(Float32Array.of(7, 8, 9));
    expect(a.capacity).toBe(4);
    expect([...x, ...y, ...z]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(x.buffer).toBe(y.buffer);
    expect(a.inUse).toBe(3);
    a.release(y);
    a.release(y);
    a.release(Float32Array.of(0, 0, 0));
    expect(a.inUse).toBe(2);
    expect(a.owns(y)).toBe(false);
    const w = a.take(Float32Array.of(-1, -2, -3));
    expect(w.buffer).toBe(x.buffer);
    expect(w.byteOffset).toBe(y.byteOffset);
    expect([...x, ...w, ...z]).toEqual([1, 2, 3, -1, -2, -3, 7, 8, 9]);
    expect(() => a.take(Float32Array.of(1, 2))).toThrow(/width 3 given a vector of 2/);
  });
});

describe('RecordPools slots', () => {
  const options = { trainWindow: 40, calibrationWindow: 20, calibrationShare: 0.5, roundSize: 16 };
  /** a record whose every value encodes its request number, from arrays the caller then scribbles over */
  const record = (request: number, dims: number[], answered = false): AuditRecord => {
    const features: Float32Array[] = [];
    dims.forEach((d, i) => {
      // a lean request has holes: cut 1 only every third request
      if (i !== 1 || request % 3 === 0) features[i] = new Float32Array(d).fill(request + i / 10);
    });
    return { features, teacher: new Float32Array(10).fill(request), teacherTop: 0, request, ...(answered ? { teaches: 2 } : {}) };
  };

  it('keeps every live record intact while slots churn, and hands back what leaves the windows', () => {
    const pools = new RecordPools(options, new Rng(3));
    const dims = [8, 8, 5];
    const given: AuditRecord[] = [];
    for (let q = 0; q < 2000; q++) {
      const r = record(q, dims, q % 4 === 1);
      given.push(r);
      const originals = [...r.features, r.teacher];
      if (q % 4 === 0) pools.fileAudit(r);
      else if (q % 4 === 1) pools.addAnswered(r);
      else pools.addBackbone(r);
      // the caller's arrays are its own again: writing to them changes no record
      for (const o of originals) o?.fill(-1);
      if (q === 1500) pools.dropStale(1400);
      if (q % 97 === 0) pools.trim();
    }
    pools.trim();
    const live = [...pools.live().values()];
    expect(live.length).toBeGreaterThan(50);
    for (const r of live) {
      expect(r.teacher.every((v) => v === r.request)).toBe(true);
      r.features.forEach((f, i) => expect(f!.every((v) => Math.abs(v - (r.request + i / 10)) < 1e-4)).toBe(true));
      expect(r.features[1] !== undefined).toBe(r.request % 3 === 0);
    }
    // slots in use = the live records' vectors: nothing leaked, nothing shared
    const vectors = live.reduce((n, r) => n + 1 + r.features.filter(Boolean).length, 0);
    expect(pools.slotUsage.slots).toBe(vectors);
    // bounded by the windows, not by the 2,000 records filed
    expect(pools.slotUsage.bytes).toBeLessThan(given.length * 21 * 4);
  });
});

describe('ViewTable (the heads\' views of calibration records, by row)', () => {
  it('gives the cascade the same choice as per-record probability vectors, across row reuse and an untrained head', () => {
    const rng = new Rng(5);
    const classes = 4;
    const cost: CascadeCostModel = { cuts: 3, segment: (a, b) => b - a, head: () => 0.05 };
    const pools = new RecordPools({ trainWindow: 400, calibrationWindow: 1500, calibrationShare: 1, roundSize: 64 }, new Rng(1));
    const table = new ViewTable(3);
    pools.rowFiled = (row) => table.clear(row);
    const probsOf = new Map<number, Array<Float32Array | undefined>>();
    const file = (request: number) => {
      pools.fileAudit({ features: [Float32Array.of(1)], teacher: new Float32Array(classes), teacherTop: request % classes, request });
      // head 2 untrained: no probabilities
      probsOf.set(request, [0.8, 0.95, undefined].map((q) => {
        if (q === undefined) return undefined;
        const p = Float32Array.from({ length: classes }, () => rng.next() * 0.2);
        p[rng.next() < q ? request % classes : (request + 1) % classes] = 0.3 + 0.7 * rng.next();
        return p;
      }));
    };
    const viewAll = (version: number) => {
      for (const r of pools.calibration) {
        if (table.has(r.row!, version)) continue;
        const ps = probsOf.get(r.request)!;
        table.set(r.row!, version, (h) => (ps[h] ? { p: ps[h]!, offset: 0, classes } : undefined));
      }
    };
    for (let q = 0; q < 2000; q++) file(q);
    viewAll(1);
    // records leave the window; new ones take their rows and must not inherit their views
    pools.trim();
    for (let q = 2000; q < 2600; q++) file(q);
    pools.trim();
    const rows = pools.calibration.map((r) => r.row!);
    expect(new Set(rows).size).toBe(rows.length);
    // the 500 rows the first trim freed were reused: 2,000 + 600 − 500 rows ever handed out
    expect(pools.rowCount).toBe(2100);
    expect(pools.calibration.filter((r) => r.request >= 2000).every((r) => !table.has(r.row!, 1))).toBe(true);
    viewAll(1);
    const columns = table.columns(pools.calibration);
    expect(columns.conf[2]).toBeUndefined();
    const views: AuditView[] = pools.calibration.map((r) => ({ probs: probsOf.get(r.request)!, teacherTop: r.teacherTop }));
    const o = { target: 0.995, maxActive: 2, budgetBytes: Infinity, headBytes: () => 0 };
    const fromColumns = chooseCascade(columns, [0, 1], cost, o);
    expect(fromColumns).toEqual(chooseCascade(views, [0, 1], cost, o));
    expect(fromColumns.cascade.caches.length).toBeGreaterThan(0);
  });
});

describe('EngineStatistics events', () => {
  it('keeps the newest events only (a server runs for weeks), in order, and describes a round by its trigger', () => {
    const s = new EngineStatistics(4, 100);
    for (let i = 0; i < 2 * EVENTS_KEPT + 1; i++) s.event({ kind: 'round', request: i, trigger: i ? 'idle' : 'first', records: 10, pool: 20, passes: 1.5 });
    expect(s.events.length).toBeLessThanOrEqual(2 * EVENTS_KEPT);
    expect(s.events.length).toBeGreaterThanOrEqual(EVENTS_KEPT);
    expect(s.events.at(-1)!.request).toBe(2 * EVENTS_KEPT);
    expect(s.events.every((e, i) => !i || e.request === s.events[i - 1]!.request + 1)).toBe(true);
    expect(describeEvent(s.events.at(-1)!)).toBe(`request ${2 * EVENTS_KEPT}: training round (idle: the pool is under-trained) on 10 of 20 pooled records; 1.5 passes over the pool after it`);
    expect(describeEvent({ kind: 'round', request: 5, trigger: 'new-records', records: 3, pool: 4, passes: 2 })).toContain('new training records');
  });
});
