import { Matrix, solve } from 'ml-matrix';
import type { LatencyData } from '../data/latency.js';
import { spearman } from '../util/stats.js';

/**
 * How well can *any* simple model rank a device's measured latencies? Linear models on op
 * features, fitted on every architecture and scored on the same ones (in-sample: an upper bound
 * for that model class, not a prediction). When even the richest of them stays below a target, the
 * gap is measurement noise in the table, not something a few-shot predictor can close.
 */
export interface Ceiling {
  /** latency ≈ Σ_op-type count × cost */
  opCounts: number;
  /** latency ≈ Σ_position cost(op at that position) */
  oneHot: number;
  /** one-hot plus every product of two op-type counts (op interactions) */
  oneHotQuadratic: number;
}

function fitInSample(X: number[][], y: number[]): number[] {
  const A = new Matrix(X.map((r) => [1, ...r]));
  const At = A.transpose();
  // a tiny ridge keeps the normal equations solvable where features are collinear (counts sum to a constant)
  const w = solve(At.mmul(A).add(Matrix.eye(A.columns, A.columns).mul(1e-6)), At.mmul(Matrix.columnVector(y))).getColumn(0);
  return X.map((r) => w[0]! + r.reduce((s, v, j) => s + v * w[j + 1]!, 0));
}

export function inSampleCeiling(data: LatencyData, latency: Float64Array): Ceiling {
  const types = Math.max(...data.ops.map((o) => Math.max(...o))) + 1;
  const counts = data.ops.map((o) => {
    const c = new Array<number>(types).fill(0);
    for (const op of o) c[op]!++;
    return c;
  });
  const oneHot = data.ops.map((o) => {
    const v = new Array<number>(o.length * types).fill(0);
    o.forEach((op, p) => (v[p * types + op] = 1));
    return v;
  });
  const quad = counts.map((c) => {
    const out: number[] = [];
    for (let a = 0; a < types; a++) for (let b = a; b < types; b++) out.push(c[a]! * c[b]!);
    return out;
  });
  const y = Array.from(latency);
  const score = (X: number[][]) => spearman(fitInSample(X, y), y);
  return { opCounts: score(counts), oneHot: score(oneHot), oneHotQuadratic: score(oneHot.map((r, i) => [...r, ...quad[i]!])) };
}
