import { median } from '../util/stats.js';
import { segmentCost, type SegmentCosts } from './segments.js';

interface Running {
  mean: number;
  n: number;
  /** observation count (all segments) when this one was last observed */
  lastSeen: number;
}

const MIN_OBSERVATIONS = 20;
/**
 * A segment not observed for this many in-situ timings of others (segments, and heads run in JS;
 * ~1,000 requests) is priced from the profile again, scaled by the current in-situ ratio. Without
 * it, a segment last timed
 * during a noisy spell (training rounds in the full-audit warm-up) kept that price for ever once
 * the cascade stopped using it: bench:earlyexit at 05:11Z priced [2,3] above [0,3] on the request
 * path (30 % saved vs 58.5 % under the tight-loop profile) and stayed there, 23 % saved.
 */
const STALE_AFTER = 2000;

/**
 * Segment and head costs as measured on the request path. The start-up profile times each block
 * in a tight loop; on the request path, blocks run interleaved with other sessions and JS work and
 * come out 10–25 % slower, unevenly (measured on this machine). The manager prices cascades with
 * these in-situ figures: an exponentially weighted mean per segment (outliers clipped at 3× the
 * mean, since interference only adds time), and for segments not run yet — or not recently — the
 * profile estimate scaled by the median in-situ/profile ratio of those run recently.
 */
export class LiveCosts {
  private readonly segments = new Map<string, Running>();
  private readonly heads = new Map<number, Running>();
  private observations = 0;

  constructor(private readonly profile: SegmentCosts) {}

  private update(m: Map<string | number, Running>, key: string | number, ms: number): void {
    const now = ++this.observations;
    const r = m.get(key);
    if (!r) return void m.set(key, { mean: ms, n: 1, lastSeen: now });
    const x = Math.min(ms, 3 * r.mean);
    r.n++;
    r.lastSeen = now;
    const alpha = Math.max(0.02, 1 / r.n);
    r.mean += alpha * (x - r.mean);
  }

  private fresh(r: Running | undefined): r is Running {
    return r !== undefined && r.n >= MIN_OBSERVATIONS && this.observations - r.lastSeen <= STALE_AFTER;
  }

  observeSegment(from: number, to: number, ms: number): void {
    this.update(this.segments as Map<string | number, Running>, `${from}->${to}`, ms);
  }

  observeHead(i: number, ms: number): void {
    this.update(this.heads as Map<string | number, Running>, i, ms);
  }

  /** in-situ / profile, median over the segments measured often enough and recently (1 before any) */
  ratio(): number {
    const rs: number[] = [];
    for (const [k, r] of this.segments) {
      if (!this.fresh(r)) continue;
      const [a, b] = k.split('->').map(Number) as [number, number];
      rs.push(r.mean / segmentCost(this.profile, a, b));
    }
    return rs.length ? median(rs) : 1;
  }

  segment(from: number, to: number): number {
    const r = this.segments.get(`${from}->${to}`);
    if (this.fresh(r)) return r.mean;
    return segmentCost(this.profile, from, to) * this.ratio();
  }

  /** in-situ head cost, or `fallback` (its tight-loop time) until observed */
  head(i: number, fallback: number): number {
    const r = this.heads.get(i);
    return r && r.n >= MIN_OBSERVATIONS ? r.mean : fallback;
  }
}
