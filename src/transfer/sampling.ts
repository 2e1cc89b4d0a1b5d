import type { LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import type { Encoded } from './encoding.js';
import { zScores } from './predictor.js';

/**
 * Design axis 2: which k architectures to measure on the new device.
 *  - random:     uniform
 *  - stratified: evenly spaced quantiles of the mean training-device latency
 *  - cluster:    k-means over the encodings, the arch nearest each centroid (a coreset)
 *  - hwaware:    archs on which the training devices disagree most (rank variance), spread over
 *                latency strata so the fit sees the whole range
 *  - reference:  HELP's 10 fixed reference archs (+ random ones beyond 10)
 */
export const SAMPLERS = ['random', 'stratified', 'cluster', 'hwaware', 'reference'] as const;
export type SampleSelector = (typeof SAMPLERS)[number];

export function checkK(k: number, data: LatencyData): void {
  const N = data.ops.length;
  if (!Number.isInteger(k) || k < 2 || k > N) throw new UserError(`k must be an integer in [2, ${N}], got ${k}`, 'k');
}

export function selectSamples(kind: string, k: number, data: LatencyData, trainDevices: string[], enc: Encoded, seed: number): number[] {
  const N = data.ops.length;
  checkK(k, data);
  const rng = new Rng(seed);
  const z = trainDevices.map((d) => zScores(data.latency.get(d)!).z);
  const meanZ = Float64Array.from({ length: N }, (_, i) => z.reduce((s, v) => s + v[i]!, 0) / z.length);
  switch (kind) {
    case 'random':
      return rng.shuffle([...Array(N).keys()]).slice(0, k);
    case 'stratified':
      return stratified(meanZ, [...Array(N).keys()], k, rng);
    case 'cluster':
      return kMeansCentres(enc, k, rng);
    case 'hwaware': {
      const variance = Float64Array.from({ length: N }, (_, i) => {
        const m = meanZ[i]!;
        return z.reduce((s, v) => s + (v[i]! - m) ** 2, 0);
      });
      // the most disputed quarter of the space, then spread over latency
      const disputed = [...Array(N).keys()].sort((a, b) => variance[b]! - variance[a]!).slice(0, Math.max(k, Math.floor(N / 4)));
      return stratified(meanZ, disputed, k, rng);
    }
    case 'reference': {
      const refs = data.referenceArchs.slice(0, k);
      const rest = rng.shuffle([...Array(N).keys()].filter((i) => !refs.includes(i)));
      return [...refs, ...rest.slice(0, k - refs.length)];
    }
    default:
      throw new UserError(`unknown sample selector '${kind}', expected one of ${SAMPLERS.join(', ')}`, 'sampler');
  }
}

/** one random arch from each of k equal-count strata of `key` */
function stratified(key: Float64Array, pool: number[], k: number, rng: Rng): number[] {
  const sorted = [...pool].sort((a, b) => key[a]! - key[b]!);
  return Array.from({ length: k }, (_, s) => {
    const lo = Math.floor((s * sorted.length) / k);
    const hi = Math.max(lo, Math.floor(((s + 1) * sorted.length) / k) - 1);
    return sorted[rng.int(lo, hi)]!;
  });
}

/** k-means++ on a subsample of the encodings, 15 Lloyd iterations; returns the arch nearest each centre */
function kMeansCentres(enc: Encoded, k: number, rng: Rng): number[] {
  const N = enc.rows;
  const d = enc.dim;
  const pool = rng.shuffle([...Array(N).keys()]).slice(0, Math.min(N, 4000));
  const row = (i: number) => enc.x.subarray(i * d, i * d + d);
  const dist = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (a[j]! - b[j]!) ** 2;
    return s;
  };
  const centres: Float64Array[] = [Float64Array.from(row(pool[rng.int(0, pool.length - 1)]!))];
  while (centres.length < k) {
    const w = pool.map((i) => Math.min(...centres.map((c) => dist(row(i), c))));
    let r = rng.next() * w.reduce((a, b) => a + b, 0);
    let pick = pool[0]!;
    for (let j = 0; j < pool.length; j++) if ((r -= w[j]!) <= 0) {
      pick = pool[j]!;
      break;
    }
    centres.push(Float64Array.from(row(pick)));
  }
  for (let it = 0; it < 15; it++) {
    const sums = centres.map(() => new Float64Array(d));
    const counts = new Array<number>(k).fill(0);
    for (const i of pool) {
      const x = row(i);
      let best = 0;
      for (let c = 1; c < k; c++) if (dist(x, centres[c]!) < dist(x, centres[best]!)) best = c;
      counts[best]!++;
      for (let j = 0; j < d; j++) sums[best]![j]! += x[j]!;
    }
    centres.forEach((c, ci) => counts[ci]! > 0 && c.forEach((_, j) => (c[j] = sums[ci]![j]! / counts[ci]!)));
  }
  const chosen = new Set<number>();
  return centres.map((c) => {
    let best = -1;
    let bestD = Infinity;
    for (const i of pool) {
      const dd = dist(row(i), c);
      if (dd < bestD && !chosen.has(i)) [best, bestD] = [i, dd];
    }
    chosen.add(best);
    return best;
  });
}
