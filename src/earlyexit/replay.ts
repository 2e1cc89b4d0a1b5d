import { quantile } from '../util/stats.js';
import type { CacheEngine } from './engine.js';

/** One replayed request, as seen by the evaluation (which alone knows the label). */
export interface ReplayRecord {
  exit: number | null;
  audited: boolean;
  flops: number;
  latencyMs: number;
  /** the unmodified backbone on the same request, timed back to back (order alternates) */
  baselineMs: number;
  label: number;
  backboneLabel: number;
  /** true class, read only after both answers exist (null when the stream has no labels) */
  truth: number | null;
}

export interface ReplayHooks {
  onRequest?(i: number, r: ReplayRecord): void;
  /** stop early (Ctrl-C): what was replayed so far is returned */
  stop?: { stop: boolean };
}

/**
 * Replays a stream through the caching engine and, request by request, through the unmodified
 * backbone (a cache-off engine over the same sessions' code path), so both latencies come from the
 * same moment of this noisy machine. Maintenance (training, re-planning) runs between requests and
 * is timed separately: it is not on any request's path.
 *
 * `input(i)` gives request i's input; `truth(i)` its label — called only after the engine answered,
 * never passed to the engine.
 */
export async function replayStream(
  engine: CacheEngine,
  baseline: CacheEngine,
  n: number,
  input: (i: number) => Float32Array,
  truth: ((i: number) => number) | null,
  hooks: ReplayHooks = {},
): Promise<{ records: ReplayRecord[]; maintenanceMs: number }> {
  const records: ReplayRecord[] = [];
  let maintenanceMs = 0;
  for (let i = 0; i < n; i++) {
    if (hooks.stop?.stop) break;
    const x = input(i);
    const cachedFirst = i % 2 === 0;
    const a = cachedFirst ? await engine.classify(x) : undefined;
    const b = await baseline.classify(x);
    const c = a ?? (await engine.classify(x));
    const rec: ReplayRecord = {
      exit: c.exit,
      audited: c.audited,
      flops: c.flops,
      latencyMs: c.latencyMs,
      baselineMs: b.latencyMs,
      label: c.label,
      backboneLabel: b.label,
      truth: truth ? truth(i) : null,
    };
    records.push(rec);
    hooks.onRequest?.(i, rec);
    const m = await engine.maintain();
    maintenanceMs += m.trainedMs + m.managedMs + m.auditMs;
  }
  return { records, maintenanceMs };
}

export interface WindowSummary {
  from: number;
  to: number;
  requests: number;
  flopsPerRequest: number;
  backboneFlops: number;
  flopsReduction: number;
  p50: number;
  p95: number;
  baselineP50: number;
  baselineP95: number;
  /** 1 − cached p50 / backbone p50 */
  latencyReductionP50: number;
  latencyReductionP95: number;
  /** 1 − cached mean / backbone mean */
  latencyReductionMean: number;
  /** mean latency, to compare totals */
  meanMs: number;
  baselineMeanMs: number;
  agreement: number;
  accuracy: number | null;
  backboneAccuracy: number | null;
  earlyExitRate: number;
  auditRate: number;
}

export function summarise(records: ReplayRecord[], from: number, to: number, backboneFlops: number): WindowSummary {
  const rs = records.slice(from, to);
  const n = Math.max(1, rs.length);
  const lat = rs.map((r) => r.latencyMs);
  const base = rs.map((r) => r.baselineMs);
  const flops = rs.reduce((a, r) => a + r.flops, 0) / n;
  const labelled = rs.filter((r) => r.truth !== null);
  const acc = (f: (r: ReplayRecord) => number) => (labelled.length ? labelled.filter((r) => f(r) === r.truth).length / labelled.length : null);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const p50 = quantile(lat, 0.5);
  const p95 = quantile(lat, 0.95);
  const b50 = quantile(base, 0.5);
  const b95 = quantile(base, 0.95);
  return {
    from,
    to: from + rs.length,
    requests: rs.length,
    flopsPerRequest: flops,
    backboneFlops,
    flopsReduction: 1 - flops / backboneFlops,
    p50,
    p95,
    baselineP50: b50,
    baselineP95: b95,
    latencyReductionP50: 1 - p50 / b50,
    latencyReductionP95: 1 - p95 / b95,
    latencyReductionMean: 1 - mean(lat) / mean(base),
    meanMs: mean(lat),
    baselineMeanMs: mean(base),
    agreement: rs.filter((r) => r.label === r.backboneLabel).length / n,
    accuracy: acc((r) => r.label),
    backboneAccuracy: acc((r) => r.backboneLabel),
    earlyExitRate: rs.filter((r) => r.exit !== null).length / n,
    auditRate: rs.filter((r) => r.audited).length / n,
  };
}
