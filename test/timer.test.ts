import { describe, expect, it } from 'vitest';
import { measure, summarise, DEFAULT_TIMING } from '../src/profile/timer.js';

const spin = (ms: number) => {
  const t0 = performance.now();
  while (performance.now() - t0 < ms);
};

describe('timer', () => {
  it('rejects outliers and reports robust statistics', () => {
    const times = [...Array.from({ length: 50 }, (_, i) => 1 + (i % 5) * 0.01), 40, 55];
    const s = summarise([times.slice(0, 26), times.slice(26)]);
    expect(s.rejected).toBe(2);
    expect(s.n).toBe(50);
    expect(s.maxMs).toBeLessThan(1.1);
    expect(s.medianMs).toBeCloseTo(1.02, 5);
    expect(s.p10Ms).toBeLessThanOrEqual(s.medianMs);
    expect(s.p90Ms).toBeGreaterThanOrEqual(s.medianMs);
    expect(s.roundMediansMs).toHaveLength(2);
    expect(s.latencyMs).toBe(Math.min(...s.roundMediansMs));
  });

  it('the latency estimate ignores a round spoiled by interference', () => {
    const quiet = Array.from({ length: 20 }, (_, i) => 1 + (i % 4) * 0.01);
    const burst = quiet.map((t) => t * 2.2);
    const s = summarise([burst, quiet, burst]);
    expect(s.latencyMs).toBeCloseTo(1.015, 3);
    expect(s.medianMs).toBeGreaterThan(2); // the pooled median is dragged into the burst
  });

  it('measures a known busy-wait within a few percent and respects the repeat bounds', async () => {
    let calls = 0;
    const s = await measure(() => {
      calls++;
      spin(2);
    }, { ...DEFAULT_TIMING, minRepeats: 10, maxRepeats: 40, maxTimeMs: 1000 });
    expect(s.medianMs).toBeGreaterThan(1.95);
    expect(s.medianMs).toBeLessThan(2.6);
    expect(s.n + s.rejected).toBeGreaterThanOrEqual(10);
    expect(s.n + s.rejected).toBeLessThanOrEqual(40);
    expect(calls).toBeGreaterThanOrEqual(s.n + s.rejected + DEFAULT_TIMING.warmupRuns);
  });

  it('stops at the time cap for slow functions', async () => {
    const t0 = performance.now();
    const s = await measure(() => spin(5), { ...DEFAULT_TIMING, minRepeats: 3, maxRepeats: 1000, targetRelCI: 0, maxTimeMs: 60 });
    expect(s.n + s.rejected).toBeLessThan(30);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('times the probe before each round and after the last, in order, between the rounds', async () => {
    const events: string[] = [];
    let probes = 0;
    const s = await measure(
      () => {
        events.push('run');
      },
      { ...DEFAULT_TIMING, rounds: 3, minRepeats: 3, maxRepeats: 3 },
      async () => {
        events.push('probe');
        // a probe that takes ~20 ms of wall time: counted apart from the measurement
        await new Promise((r) => setTimeout(r, 20));
        return 10 + probes++;
      },
    );
    expect(s.roundProbesMs).toEqual([10, 11, 12, 13]);
    expect(s.roundProbesWallMs).toBeGreaterThanOrEqual(4 * 19);
    expect(s.roundMediansMs).toHaveLength(3);
    // a probe opens and closes the measurement, and one stands between every two rounds
    expect(events[0]).toBe('probe');
    expect(events.at(-1)).toBe('probe');
    const between = events.join(' ').split('probe').map((x) => x.trim()).filter(Boolean);
    expect(between).toHaveLength(3);
    expect(await measure(() => undefined, { ...DEFAULT_TIMING, rounds: 2, minRepeats: 2, maxRepeats: 2 })).not.toHaveProperty('roundProbesMs');
  });
});
