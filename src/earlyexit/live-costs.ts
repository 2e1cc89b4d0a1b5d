import { median } from '../util/stats.js';
import { segmentCost, type SegmentCosts } from './segments.js';

interface Running {
  mean: number;
  n: number;
}

const MIN_OBSERVATIONS = 20;

/**
 * Segment and head costs as measured on the request path. The start-up profile times each block
 * in a tight loop; on the request path, blocks run interleaved with other sessions and JS work and
 * come out 10–25 % slower, unevenly (measured on this machine). The manager prices cascades with
 * these in-situ figures: an exponentially weighted mean per segment (outliers clipped at 3× the
 * mean, since interference only adds time), and for segments not run yet, the profile estimate
 * scaled by the median in-situ/profile ratio of those that were.
 */
export class LiveCosts {
  private readonly segments = new Map<string, Running>();
  private readonly heads = new Map<number, Running>();

  constructor(private readonly profile: SegmentCosts) {}

  private static update(m: Map<string | number, Running>, key: string | number, ms: number): void {
    const r = m.get(key);
    if (!r) return void m.set(key, { mean: ms, n: 1 });
    const x = Math.min(ms, 3 * r.mean);
    r.n++;
    const alpha = Math.max(0.02, 1 / r.n);
    r.mean += alpha * (x - r.mean);
  }

  observeSegment(from: number, to: number, ms: number): void {
    LiveCosts.update(this.segments as Map<string | number, Running>, `${from}->${to}`, ms);
  }

  observeHead(i: number, ms: number): void {
    LiveCosts.update(this.heads as Map<string | number, Running>, i, ms);
  }

  /** in-situ / profile, median over the segments measured often enough (1 before any) */
  ratio(): number {
    const rs: number[] = [];
    for (const [k, r] of this.segments) {
      if (r.n < MIN_OBSERVATIONS) continue;
      const [a, b] = k.split('->').map(Number) as [number, number];
      rs.push(r.mean / segmentCost(this.profile, a, b));
    }
    return rs.length ? median(rs) : 1;
  }

  segment(from: number, to: number): number {
    const r = this.segments.get(`${from}->${to}`);
    if (r && r.n >= MIN_OBSERVATIONS) return r.mean;
    return segmentCost(this.profile, from, to) * this.ratio();
  }

  /** in-situ head cost, or `fallback` (its tight-loop time) until observed */
  head(i: number, fallback: number): number {
    const r = this.heads.get(i);
    return r && r.n >= MIN_OBSERVATIONS ? r.mean : fallback;
  }
}
