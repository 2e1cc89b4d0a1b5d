import { describe, expect, it } from 'vitest';
import { smoothedProbes } from '../src/profile/probe.js';
import { atMachineState, chooseProbeWindow, medianRuns, PER_ROUND, quietestRoundProbe } from '../src/wholemodel/calibrate.js';
import type { ModelRun } from '../src/store/db.js';
import { Rng } from '../src/util/random.js';

describe('machine state from a window of probes', () => {
  it('takes the median of the probes within the window, in time order, whatever the input order', () => {
    const items = [
      { atMs: 3000, probeMs: 1.3 },
      { atMs: 0, probeMs: 1.0 },
      { atMs: 1000, probeMs: 5.0 }, // one disturbed probe
      { atMs: 2000, probeMs: 1.2 },
      { probeMs: 9 }, // no time: keeps its own
      { atMs: 60_000 }, // no probe: nothing to smooth
    ];
    expect(smoothedProbes(items, 0)).toEqual([1.3, 1.0, 5.0, 1.2, 9, undefined]);
    // ±1 s: itself and its neighbours (an even count averages the middle two)
    expect(smoothedProbes(items, 1)).toEqual([1.25, 3.0, 1.2, 1.3, 9, undefined]);
    // ±10 s: all four timed probes (median of 1.0, 1.2, 1.3, 5.0)
    expect(smoothedProbes(items, 10)).toEqual([1.25, 1.25, 1.25, 1.25, 9, undefined]);
  });

  /** three passes over 40 networks, each in a fresh shuffled order, one run every 0.5 s */
  function threePasses(rng: Rng, run: (i: number, pass: number, t: number) => ModelRun): ModelRun[] {
    const runs: ModelRun[] = [];
    let t = 0;
    for (let pass = 0; pass < 3; pass++) {
      for (const i of rng.shuffle([...Array(40).keys()])) {
        runs.push(run(i, pass, t));
        t += 500;
      }
    }
    return runs;
  }

  // the machine slows down and speeds up over minutes, each probe adds its own ±6 % noise on top:
  // the runs' latencies follow the machine
  function series(probeNoise: number) {
    const rng = new Rng(7);
    return threePasses(rng, (i, pass, t) => {
      const state = 1 + 0.3 * Math.sin(t / 120_000);
      return { collection: 'calib', model: `m${i}`, deviceKey: 'x', createMs: 1, latencyMs: (1 + i / 10) * state * (1 + 0.01 * (rng.next() - 0.5)), stats: null, probeMs: state * (1 + probeNoise * (rng.next() - 0.5)), pass, measuredAt: t };
    });
  }

  it('chooses a window that averages the probe noise and keeps the drift', () => {
    const runs = series(0.12);
    const c = chooseProbeWindow(runs);
    const own = c.candidates.find((x) => x.windowS === 0)!;
    const raw = c.candidates.find((x) => !Number.isFinite(x.windowS))!;
    const chosen = c.candidates.find((x) => x.windowS === c.windowS)!;
    expect(c.windowS).toBeGreaterThan(0);
    expect(Number.isFinite(c.windowS)).toBe(true);
    expect(chosen.within5).toBeGreaterThan(own.within5);
    expect(chosen.within5).toBeGreaterThan(raw.within5);
    expect(c.passes).toBe(120);
    // the median over passes at the chosen machine state is close to the true latency at state 1
    const measured = medianRuns(atMachineState(runs, c.windowS), 1);
    for (let i = 0; i < 40; i++) expect(Math.abs(measured.get(`m${i}`)!.measuredMs / (1 + i / 10) - 1)).toBeLessThan(0.05);
  });

  it('keeps each run its own probe when the probes are exact', () => {
    expect(chooseProbeWindow(series(0)).windowS).toBe(0);
  });

  it('leaves runs without times or probes as they are', () => {
    const runs: ModelRun[] = [{ collection: 'c', model: 'a', deviceKey: 'x', createMs: 1, latencyMs: 2, stats: null, pass: 0 }];
    expect(atMachineState(runs, 5)).toEqual(runs);
    expect(chooseProbeWindow(runs).passes).toBe(0);
  });

  it("reads a measurement's state from the lower of the probes around its quietest round", () => {
    // round 2 (0-based 1) is the quietest: probes before and after it are 14 and 12
    expect(quietestRoundProbe({ roundMediansMs: [5, 3, 4], roundProbesMs: [20, 14, 12, 21] })).toBe(12);
    // no round probes, the wrong count, or a bad value: nothing to read
    expect(quietestRoundProbe({ roundMediansMs: [5, 3, 4] })).toBeUndefined();
    expect(quietestRoundProbe({ roundMediansMs: [5, 3, 4], roundProbesMs: [20, 14, 12] })).toBeUndefined();
    expect(quietestRoundProbe({ roundMediansMs: [5, 3, 4], roundProbesMs: [20, 14, 0, 21] })).toBeUndefined();
    expect(quietestRoundProbe(null)).toBeUndefined();
  });

  // a machine that flips between a fast state and a 1.6× slower one (70 % of the time) from round
  // to round: a probe timed before a round sees that round's state, the probe before the whole
  // measurement a state of its own
  function flipping(withRoundProbes: boolean) {
    const rng = new Rng(11);
    return threePasses(rng, (i, pass, t) => {
      const states = Array.from({ length: 5 }, () => (rng.next() < 0.3 ? 1 : 1.6));
      const roundMediansMs = states.map((st) => (1 + i / 10) * st * (1 + 0.01 * (rng.next() - 0.5)));
      const roundProbesMs = [...states, states[4]!].map((st) => st * (1 + 0.01 * (rng.next() - 0.5)));
      const stats = { roundMediansMs, ...(withRoundProbes ? { roundProbesMs } : {}) };
      return { collection: 'calib', model: `m${i}`, deviceKey: 'x', createMs: 1, latencyMs: Math.min(...roundMediansMs), stats, probeMs: rng.next() < 0.5 ? 1 : 1.6, pass, measuredAt: t };
    });
  }

  it('chooses the per-round state when the machine changes within a measurement, and never without round probes', () => {
    const c = chooseProbeWindow(flipping(true));
    expect(c.windowS).toBe(PER_ROUND);
    expect(c.candidates.find((x) => x.windowS === PER_ROUND)!.within5).toBeGreaterThan(0.9);
    expect(c.candidates.find((x) => x.windowS === 0)!.within5).toBeLessThan(0.8);
    const measured = medianRuns(atMachineState(flipping(true), PER_ROUND), 1);
    for (let i = 0; i < 40; i++) expect(Math.abs(measured.get(`m${i}`)!.measuredMs / (1 + i / 10) - 1)).toBeLessThan(0.05);
    // measured without round probes, per round is each run's own probe: a tie that the earlier window wins
    const old = chooseProbeWindow(flipping(false));
    expect(old.windowS).not.toBe(PER_ROUND);
    expect(old.candidates.find((x) => x.windowS === PER_ROUND)!.within5).toBe(old.candidates.find((x) => x.windowS === 0)!.within5);
  });
});
