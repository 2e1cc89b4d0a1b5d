import type { LatencyData } from '../data/latency.js';
import { kendallTau } from '../transfer/metrics.js';
import { pearson, ranks } from '../util/stats.js';

/**
 * Performance monotonicity: how much do devices agree on which architecture is faster? Where two
 * devices rank the space alike, one device's measurements (or predictor) can stand in for the
 * other's, and a search run for one carries over. Spearman over every architecture of the space;
 * Kendall τ-b on a fixed random subset (O(m²)).
 */
export interface MonotonicityResult {
  space: string;
  /** devices in cluster order (members of a cluster next to each other) */
  devices: string[];
  spearman: number[][];
  kendall: number[][];
  /** average-linkage clusters whose mean within-cluster Spearman stays ≥ `threshold` */
  clusters: string[][];
  threshold: number;
}

export interface MonotonicityOptions {
  /** merge clusters while their average pairwise Spearman is at least this */
  threshold?: number;
  kendallSubset?: number;
  devices?: string[];
}

export function monotonicity(data: LatencyData, o: MonotonicityOptions = {}): MonotonicityResult {
  const threshold = o.threshold ?? 0.9;
  const devices = o.devices ?? data.devices;
  const cols = devices.map((d) => Array.from(data.latency.get(d)!));
  const rk = cols.map((c) => ranks(c));
  const D = devices.length;
  const rho = square(D, (i, j) => (i === j ? 1 : pearson(rk[i]!, rk[j]!)));
  const tau = square(D, (i, j) => (i === j ? 1 : kendallTau(cols[i]!, cols[j]!, o.kendallSubset ?? 2000)));
  const clusters = averageLinkage(rho, threshold);
  const order = clusters.flat();
  const pick = (m: number[][]) => order.map((i) => order.map((j) => m[i]![j]!));
  return {
    space: data.space,
    devices: order.map((i) => devices[i]!),
    spearman: pick(rho),
    kendall: pick(tau),
    clusters: clusters.map((c) => c.map((i) => devices[i]!)),
    threshold,
  };
}

function square(n: number, f: (i: number, j: number) => number): number[][] {
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) m[i]![j] = m[j]![i] = f(i, j);
  return m;
}

/**
 * Agglomerative clustering on a similarity matrix with average linkage: repeatedly merge the two
 * clusters with the highest mean pairwise similarity, stop when that falls below `threshold`.
 * Clusters come out largest first, each member list sorted by its mean similarity to the rest.
 */
export function averageLinkage(sim: number[][], threshold: number): number[][] {
  let clusters = sim.map((_, i) => [i]);
  const link = (a: number[], b: number[]) => a.reduce((s, i) => s + b.reduce((t, j) => t + sim[i]![j]!, 0), 0) / (a.length * b.length);
  for (;;) {
    let best = -Infinity;
    let pair: [number, number] = [-1, -1];
    for (let a = 0; a < clusters.length; a++) {
      for (let b = a + 1; b < clusters.length; b++) {
        const l = link(clusters[a]!, clusters[b]!);
        if (l > best) [best, pair] = [l, [a, b]];
      }
    }
    if (pair[0] < 0 || best < threshold) break;
    const merged = [...clusters[pair[0]]!, ...clusters[pair[1]]!];
    clusters = [...clusters.filter((_, i) => i !== pair[0] && i !== pair[1]), merged];
  }
  const centrality = (c: number[], i: number) => c.reduce((s, j) => s + sim[i]![j]!, 0);
  return clusters.map((c) => [...c].sort((i, j) => centrality(c, j) - centrality(c, i))).sort((a, b) => b.length - a.length || a[0]! - b[0]!);
}
