import { mad, mean, quantileSorted, sorted, std, median } from '../util/stats.js';
import type { TimingStats } from '../store/records.js';

export type { TimingStats };

export interface TimingOptions {
  /** untimed runs before the first round (at least this many, and at least warmupMs of them);
   *  later rounds re-warm caches with one run, the session itself is warm by then */
  warmupRuns: number;
  warmupMs: number;
  /** timed runs per configuration, over all rounds */
  minRepeats: number;
  maxRepeats: number;
  /** a round stops once its median's relative 95% CI half-width is below this … */
  targetRelCI: number;
  /** … or once the configuration has used this much measuring time (split across rounds) */
  maxTimeMs: number;
  /**
   * Rounds per configuration, interleaved with other configurations. On a shared machine,
   * interference (a busy SMT sibling, another tenant) comes in bursts of 100–300 ms that slow
   * everything 2–3×; one contiguous block can fall entirely inside a burst, while the pooled runs
   * of rounds spread in time keep the median in the quiet majority.
   */
  rounds: number;
  /** drop runs further than this many robust sigmas (MAD) from the median */
  outlierSigmas: number;
}

export const DEFAULT_TIMING: TimingOptions = {
  warmupRuns: 3,
  warmupMs: 10,
  minRepeats: 12,
  maxRepeats: 1000,
  targetRelCI: 0.01,
  maxTimeMs: 300,
  rounds: 5,
  outlierSigmas: 4,
};

type Run = () => Promise<unknown> | unknown;

/**
 * One round: warm-up, then individually timed runs (monotonic high-resolution clock) until the
 * round's share of repeats/time is used or its median is precise enough.
 */
export async function timeRound(run: Run, opts: TimingOptions, first = true): Promise<number[]> {
  const warmStart = performance.now();
  const [runs, ms] = first ? [opts.warmupRuns, opts.warmupMs] : [1, 0];
  for (let i = 0; i < runs || performance.now() - warmStart < ms; i++) {
    await run();
    if (i > 1000) break;
  }
  const rounds = Math.max(1, opts.rounds);
  const minRuns = Math.ceil(opts.minRepeats / rounds);
  const maxRuns = Math.max(minRuns, Math.floor(opts.maxRepeats / rounds));
  const budget = opts.maxTimeMs / rounds;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxRuns) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (times.length >= minRuns && (relCI(times) <= opts.targetRelCI || performance.now() - start >= budget)) break;
  }
  return times;
}

/**
 * All rounds back to back (for a single configuration; the profiler interleaves rounds instead).
 * `probeRound`, when given, is timed before each round and after the last (roundProbesMs): a long
 * measurement spans several machine states, and its quietest round's is the one that counts.
 */
export async function measure(run: Run, opts: TimingOptions = DEFAULT_TIMING, probeRound?: () => Promise<number>): Promise<TimingStats> {
  const rounds: number[][] = [];
  const probes: number[] = [];
  let probeWallMs = 0;
  const probeNow = async () => {
    const t0 = performance.now();
    probes.push(await probeRound!());
    probeWallMs += performance.now() - t0;
  };
  for (let r = 0; r < Math.max(1, opts.rounds); r++) {
    if (probeRound) await probeNow();
    rounds.push(await timeRound(run, opts, r === 0));
  }
  if (probeRound) await probeNow();
  return { ...summarise(rounds, opts.outlierSigmas), ...(probeRound ? { roundProbesMs: probes, roundProbesWallMs: probeWallMs } : {}) };
}

/** Pools the rounds' runs, rejects outliers, and summarises. */
export function summarise(rounds: number[][], outlierSigmas = DEFAULT_TIMING.outlierSigmas): TimingStats {
  const times = rounds.flat();
  const m = median(times);
  const sigma = mad(times);
  const kept = sigma > 0 ? times.filter((t) => Math.abs(t - m) <= outlierSigmas * sigma) : times;
  const s = sorted(kept);
  const roundMediansMs = rounds.map(median);
  return {
    latencyMs: Math.min(...roundMediansMs),
    medianMs: quantileSorted(s, 0.5),
    meanMs: mean(s),
    minMs: s[0]!,
    maxMs: s[s.length - 1]!,
    p10Ms: quantileSorted(s, 0.1),
    p90Ms: quantileSorted(s, 0.9),
    stdMs: std(s),
    n: s.length,
    rejected: times.length - s.length,
    relCI: relCI(s),
    roundMediansMs,
  };
}

function relCI(times: number[]): number {
  const s = sorted(times);
  const iqr = quantileSorted(s, 0.75) - quantileSorted(s, 0.25);
  return (1.57 * iqr) / Math.sqrt(s.length) / quantileSorted(s, 0.5);
}
