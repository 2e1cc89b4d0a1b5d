import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import Database from 'better-sqlite3';
import { profile, referenceParams } from '../src/profile/profiler.js';
import { parseSpace } from '../src/profile/space.js';
import { quietestPass, Store } from '../src/store/db.js';
import { datasetRows, toCsv } from '../src/store/export.js';
import { tempDir } from './helpers.js';

const FAST = { maxTimeMs: 20, minRepeats: 5 };
const small = parseSpace({ params: { hw: { min: 4, max: 16 }, cin: [8, 16], cout: [8, 16] } }, getModule('conv2d'));

describe('profiler + store', () => {
  it('stores every planned sample with timing stats, features and environment', async () => {
    const store = new Store(path.join(tempDir(), 'a.db'));
    const r = await profile(store, { module: 'conv2d', device: 'ort-cpu', samples: 12, space: small, timing: FAST });
    expect(r.measuredNow).toBe(12);
    const rows = datasetRows(store, 'conv2d@ort-cpu');
    expect(rows).toHaveLength(12);
    for (const s of rows) {
      expect(s.median_ms as number).toBeGreaterThan(0);
      expect(s.p10_ms as number).toBeLessThanOrEqual(s.median_ms as number);
      expect(s.p90_ms as number).toBeGreaterThanOrEqual(s.median_ms as number);
      expect((s.n as number) + (s.rejected as number)).toBeGreaterThanOrEqual(5);
      expect(s.latency_ms as number).toBeLessThanOrEqual((s.max_ms as number) + 1e-9);
      expect(JSON.parse(s.round_medians_json as string)).toHaveLength(5);
      expect(s.create_ms as number).toBeGreaterThan(0);
      expect(s.macs as number).toBeGreaterThan(0);
      expect(s.cpu_model).toBeTruthy();
      expect(s.runtime).toBe('onnxruntime-node');
      expect(s.runtime_version).toMatch(/^\d+\.\d+/);
      expect(s.threads).toBe(1);
    }
    // bigger convs are slower: the measurements carry signal
    const sortedByMacs = [...rows].sort((a, b) => (a.macs as number) - (b.macs as number));
    expect(sortedByMacs.at(-1)!.median_ms as number).toBeGreaterThan(sortedByMacs[0]!.median_ms as number);
    const csv = toCsv(rows);
    expect(csv.split('\n')[0]).toContain('p_cin');
    expect(csv.trim().split('\n')).toHaveLength(13);
    store.close();
  });

  it('with --reference, every sample carries the reference latency of its chunk; without, none; old stores gain the column', async () => {
    const file = path.join(tempDir(), 'ref.db');
    const old = new Database(file);
    old.exec('CREATE TABLE samples (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, idx INTEGER NOT NULL)');
    old.close();
    const store = new Store(file);
    expect((store.db.prepare('PRAGMA table_info(samples)').all() as { name: string }[]).map((c) => c.name)).toContain('ref_ms');
    store.db.exec('DROP TABLE samples');
    store.close();
    const fresh = new Store(file);
    await profile(fresh, { module: 'conv2d', device: 'ort-cpu', samples: 10, space: small, timing: FAST, name: 'r', reference: true, quietGate: false });
    await profile(fresh, { module: 'conv2d', device: 'ort-cpu', samples: 4, space: small, timing: FAST, name: 'n' });
    const r = fresh.samples(fresh.requireDataset('r').id);
    expect(r.every((x) => x.ref_ms! > 0)).toBe(true);
    expect(new Set(r.map((x) => x.ref_ms)).size).toBe(2); // chunks of 8: two reference timings
    expect(fresh.samples(fresh.requireDataset('n').id).every((x) => x.ref_ms === null)).toBe(true);
    expect(referenceParams(getModule('conv2d'))).toEqual(referenceParams(getModule('conv2d')));
    fresh.close();
  });

  it('resumes without duplicates, refuses a changed spec, replaces with fresh', async () => {
    const store = new Store(path.join(tempDir(), 'b.db'));
    let n = 0;
    // stop after the first chunk (CHUNK_SIZE = 8)
    const first = await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 12, timing: FAST }, { shouldStop: () => n++ >= 1 });
    expect(first.stopped).toBe(true);
    expect(first.measuredNow).toBe(8);
    const second = await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 12, timing: FAST });
    expect(second.alreadyStored).toBe(8);
    expect(second.measuredNow).toBe(4);
    const ds = store.requireDataset('pwconv@ort-cpu');
    const idx = store.samples(ds.id).map((s) => s.idx);
    expect(idx).toEqual([...Array(12).keys()]);
    await expect(profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 13, timing: FAST })).rejects.toThrow(/already exists with a different/);
    const fresh = await profile(store, { module: 'pwconv', device: 'ort-cpu', samples: 4, timing: FAST, fresh: true });
    expect(fresh.measuredNow).toBe(4);
    store.close();
  });

  it('--passes: later passes re-measure every configuration once, resumably; a sample is its quietest pass', async () => {
    const store = new Store(path.join(tempDir(), 'passes.db'));
    const req = { module: 'pwconv', device: 'ort-cpu', samples: 10, timing: FAST, name: 'p', probe: true };
    await expect(profile(store, { ...req, passes: 0 })).rejects.toThrow(/--passes.*from 1 to 5, got 0/);
    expect(store.getDataset('p')).toBeUndefined(); // refused before anything is stored
    // pass 0 in full, then stopped after the first chunk of pass 1 (chunks of 8)
    let chunksDone = 0;
    const first = await profile(store, { ...req, passes: 2 }, { shouldStop: () => chunksDone++ >= 3 });
    expect(first).toMatchObject({ stopped: true, measurements: 20, measuredNow: 18, passes: 2 });
    const id = store.requireDataset('p').id;
    expect(store.passCount(id, 1)).toBe(8);
    const resumed = await profile(store, { ...req, passes: 2 });
    expect(resumed).toMatchObject({ stopped: false, alreadyStored: 18, measuredNow: 2 });
    // a third pass added to the stored dataset later; a rerun measures nothing
    expect((await profile(store, { ...req, passes: 3 })).measuredNow).toBe(10);
    expect((await profile(store, { ...req, passes: 3 })).measuredNow).toBe(0);
    const later = store.passMeasurements(id);
    expect(later).toHaveLength(20);
    expect(new Set(later.map((m) => `${m.idx}/${m.pass}`)).size).toBe(20); // no configuration twice in a pass
    expect(later.every((m) => m.latency_ms > 0 && m.probe_ms! > 0)).toBe(true);
    // each sample: the lowest of its three latencies, with the probe timed with that one
    const first0 = store.db.prepare('SELECT idx, latency_ms, probe_ms FROM samples WHERE dataset_id = ?').all(id) as Array<{ idx: number; latency_ms: number; probe_ms: number }>;
    for (const s of store.samples(id)) {
      const all = [first0.find((x) => x.idx === s.idx)!, ...later.filter((m) => m.idx === s.idx)];
      expect(s.passes).toBe(3);
      expect(s.latency_ms).toBe(Math.min(...all.map((m) => m.latency_ms)));
      expect(s.probe_ms).toBe(all.find((m) => m.latency_ms === s.latency_ms)!.probe_ms);
    }
    expect(datasetRows(store, 'p').every((r) => r.passes === 3)).toBe(true);
    store.close();
  });

  it('quietestPass: the lowest latency, carrying its own probe', () => {
    expect(quietestPass([{ latency_ms: 2, probe_ms: 1 }, { latency_ms: 3, probe_ms: 2 }])).toEqual({ latency_ms: 2, probe_ms: 1 });
    expect(quietestPass([{ latency_ms: 4, probe_ms: 1 }, { latency_ms: 3, probe_ms: null }])).toEqual({ latency_ms: 3, probe_ms: null });
    expect(quietestPass([{ latency_ms: 5 }]).latency_ms).toBe(5);
  });

  it('profiles on ort-wasm and tfjs-wasm, and under background load', async () => {
    const store = new Store(':memory:');
    for (const device of ['ort-wasm', 'tfjs-wasm']) {
      const r = await profile(store, { module: 'dwconv', device, samples: 3, timing: FAST, space: parseSpace({ params: { hw: [8] } }, getModule('dwconv')) });
      expect(r.measuredNow).toBe(3);
    }
    const loaded = parseSpace({ params: { hw: [8] }, device: { load: [{ workers: 1, duty: 0.5 }] } }, getModule('add'));
    await profile(store, { module: 'add', device: 'ort-cpu', samples: 2, timing: FAST, space: loaded });
    const s = store.samples(store.requireDataset('add@ort-cpu').id);
    expect(s.every((x) => x.load_workers === 1 && x.load_duty === 0.5)).toBe(true);
    await expect(profile(store, { module: 'add', device: 'ort-wasm', samples: 2, name: 'x', space: parseSpace({ device: { threads: [2] } }, getModule('add')) })).rejects.toThrow(
      /threads: device ort-wasm runs with threads 1 only, got 2/,
    );
    expect(store.getDataset('x')).toBeUndefined();
    store.close();
  });
});
