import { Matrix, solve } from 'ml-matrix';

export interface RidgeModel {
  predict(x: number[]): number;
  lambda: number;
  /** leave-one-out predictions of the training targets at the chosen λ (NaN when n ≤ 2) */
  loo: number[];
}

/**
 * Ridge regression y ≈ x·w + b on standardised x, with λ picked by leave-one-out error from a
 * grid: the closed-form adaptation step for few-shot transfer, where k can be as small as 5.
 */
export function fitRidge(X: number[][], y: number[], lambdas = [1e-3, 1e-2, 0.1, 1, 10, 100, 1e3, 1e4]): RidgeModel {
  const n = X.length;
  const d = X[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / n);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  const Z = X.map((r) => r.map((v, j) => (v - mean[j]!) / sd[j]!));
  const fit = (rows: number[], lambda: number) => {
    const ym = rows.reduce((s, i) => s + y[i]!, 0) / rows.length;
    const A = new Matrix(rows.map((i) => Z[i]!));
    const G = A.transpose().mmul(A).add(Matrix.eye(d, d).mul(lambda));
    const w = solve(G, A.transpose().mmul(Matrix.columnVector(rows.map((i) => y[i]! - ym)))).getColumn(0);
    return (z: number[]) => ym + z.reduce((s, v, j) => s + v * w[j]!, 0);
  };
  const looAt = (l: number) => Array.from({ length: n }, (_, i) => fit([...Array(n).keys()].filter((k) => k !== i), l)(Z[i]!));
  let best = lambdas[0]!;
  let loo: number[] = new Array<number>(n).fill(NaN);
  if (n > 2) {
    // with a handful of noisy points the LOO minimum is itself noisy: take the strongest penalty
    // whose LOO error is within 2% of the minimum (a one-standard-error style rule)
    const scored = lambdas.map((l) => {
      const p = looAt(l);
      return { l, p, err: p.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) };
    });
    const minErr = Math.min(...scored.map((x) => x.err));
    const pick = scored.filter((x) => x.err <= minErr * 1.02).sort((a, b) => b.l - a.l)[0]!;
    [best, loo] = [pick.l, pick.p];
  }
  const f = fit([...Array(n).keys()], best);
  return { lambda: best, loo, predict: (x) => f(x.map((v, j) => (v - mean[j]!) / sd[j]!)) };
}
