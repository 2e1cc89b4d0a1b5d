import { mad, mean, median, quantileSorted, sorted, std } from '../util/stats.js';

export interface TimingOptions {
  /** untimed runs before measuring (at least this many, and at least warmupMs of them) */
  warmupRuns: number;
  warmupMs: number;
  minRepeats: number;
  maxRepeats: number;
  /** stop once the median's relative 95% CI half-width is below this … */
  targetRelCI: number;
  /** … or once this much time was spent measuring this configuration */
  maxTimeMs: number;
  /** drop runs further than this many robust sigmas (MAD) from the median */
  outlierSigmas: number;
}

export const DEFAULT_TIMING: TimingOptions = {
  warmupRuns: 3,
  warmupMs: 10,
  minRepeats: 10,
  maxRepeats: 1000,
  targetRelCI: 0.01,
  maxTimeMs: 300,
  outlierSigmas: 4,
};

export interface TimingStats {
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  stdMs: number;
  /** runs kept after outlier rejection */
  n: number;
  rejected: number;
  /** relative half-width of the median's 95% CI (McGill notch: 1.57·IQR/√n) */
  relCI: number;
}

/**
 * Times `run` with warm-up, adaptive repeats and robust outlier rejection.
 * Each repeat is timed individually with the monotonic high-resolution clock.
 */
export async function measure(run: () => Promise<unknown> | unknown, opts: TimingOptions = DEFAULT_TIMING): Promise<TimingStats> {
  const warmStart = performance.now();
  for (let i = 0; i < opts.warmupRuns || performance.now() - warmStart < opts.warmupMs; i++) {
    await run();
    if (i > 1000) break;
  }
  const times: number[] = [];
  const start = performance.now();
  while (times.length < opts.maxRepeats) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (times.length >= opts.minRepeats) {
      if (relCI(times) <= opts.targetRelCI || performance.now() - start >= opts.maxTimeMs) break;
    }
  }
  return summarise(times, opts.outlierSigmas);
}

export function summarise(times: number[], outlierSigmas = DEFAULT_TIMING.outlierSigmas): TimingStats {
  const m = median(times);
  const sigma = mad(times);
  const kept = sigma > 0 ? times.filter((t) => Math.abs(t - m) <= outlierSigmas * sigma) : times;
  const s = sorted(kept);
  return {
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
  };
}

function relCI(times: number[]): number {
  const s = sorted(times);
  const iqr = quantileSorted(s, 0.75) - quantileSorted(s, 0.25);
  return (1.57 * iqr) / Math.sqrt(s.length) / quantileSorted(s, 0.5);
}
