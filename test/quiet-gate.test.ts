import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { profile } from '../src/profile/profiler.js';
import { QuietGate } from '../src/profile/quiet-gate.js';
import { parseSpace } from '../src/profile/space.js';
import { Store } from '../src/store/db.js';
import { tempDir } from './helpers.js';

describe('QuietGate (chunks timed in the host slow state are measured again)', () => {
  it('a chunk is quiet when most of its reference rounds are within tolerance of the quietest seen', () => {
    const gate = new QuietGate({ tolerance: 0.2, retries: 3 });
    expect(gate.isQuiet([1, 1.02, 0.98, 1.01, 1])).toBe(true);
    // two slow rounds of five: still mostly quiet; three: slow
    expect(gate.isQuiet([1.5, 1.01, 1.55, 0.99, 1.02])).toBe(true);
    expect(gate.isQuiet([1.5, 1.01, 1.55, 1.5, 1.02])).toBe(false);
    // a quieter chunk lowers the level for the next ones
    expect(gate.isQuiet([0.8, 0.8, 0.8])).toBe(true);
    expect(gate.isQuiet([1, 1, 1])).toBe(false);
  });

  it('the store seeds the level: a first chunk in a slow phase is judged slow', () => {
    const gate = new QuietGate();
    gate.seed(1);
    expect(gate.isQuiet([1.5, 1.48, 1.52])).toBe(false);
    // not positive finite numbers are ignored
    const empty = new QuietGate();
    empty.seed(NaN);
    empty.seed(0);
    expect(empty.isQuiet([2, 2, 2])).toBe(true);
    expect(empty.isQuiet([3, 3, 3])).toBe(false);
  });

  it('a level no chunk reaches any more is given up after three chunks in a row kept slow', () => {
    const gate = new QuietGate({ tolerance: 0.2, retries: 1 });
    gate.seed(0.5); // an outlier, or a host that got slower for good
    for (let i = 0; i < 2; i++) {
      expect(gate.isQuiet([1, 1, 1])).toBe(false);
      gate.keptAfterRetries(QuietGate.score([1, 1, 1]));
    }
    gate.keptQuiet(); // a quiet chunk breaks the run
    gate.keptAfterRetries(1);
    expect(gate.isQuiet([1, 1, 1])).toBe(false);
    gate.keptAfterRetries(1.1);
    gate.keptAfterRetries(1);
    expect(gate.keptSlow).toBe(5);
    expect(gate.isQuiet([1, 1, 1])).toBe(true);
  });
});

describe('profile with --reference: the quiet gate', () => {
  const small = parseSpace({ params: { hw: { min: 4, max: 16 }, cin: [8, 16], cout: [8, 16] } }, getModule('conv2d'));
  const FAST = { maxTimeMs: 20, minRepeats: 5 };

  it('measures chunks whose reference ran slow again after the plan and keeps every sample once', async () => {
    const store = new Store(path.join(tempDir(), 'gate.db'));
    // a stored reference far quieter than this machine can run it: every chunk is slow, is
    // measured again twice (retries 2), then kept
    const seedRun = await profile(store, { module: 'conv2d', device: 'ort-cpu', samples: 4, space: small, timing: FAST, name: 'seed', reference: true, quietGate: false });
    expect(seedRun.slowChunks).toEqual({ retried: 0, keptSlow: 0 });
    store.db.prepare('UPDATE samples SET ref_ms = ref_ms / 100').run();
    const waiting: number[] = [];
    const r = await profile(store, { module: 'conv2d', device: 'ort-cpu', samples: 12, space: small, timing: FAST, name: 'g', reference: true, quietGate: { retries: 2, gapS: 0.05 } }, { onProgress: (p) => waiting.push(p.waiting ?? 0) });
    expect(r.slowChunks).toEqual({ retried: 4, keptSlow: 2 });
    // the progress says what waits for a quiet moment: both chunks (12), then 4 once the first is kept, then none
    expect(waiting).toEqual([8, 12, 4, 0]);
    const rows = store.samples(store.requireDataset('g').id);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((x) => x.idx)).size).toBe(12);
    expect(rows.every((x) => x.ref_ms! > 0 && x.latency_ms > 0)).toBe(true);
    // off: nothing measured again
    const off = await profile(store, { module: 'conv2d', device: 'ort-cpu', samples: 8, space: small, timing: FAST, name: 'off', reference: true, quietGate: false });
    expect(off.slowChunks).toEqual({ retried: 0, keptSlow: 0 });
    store.close();
  });
});
