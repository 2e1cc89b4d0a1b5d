import { Matrix, solve } from 'ml-matrix';

export interface RidgeModel {
  predict(x: number[]): number;
  lambda: number;
}

/**
 * Ridge regression y ≈ x·w + b on standardised x, with λ picked by leave-one-out error from a
 * grid: the closed-form adaptation step for few-shot transfer, where k can be as small as 5.
 */
export function fitRidge(X: number[][], y: number[], lambdas = [1e-3, 1e-2, 0.1, 1, 10, 100]): RidgeModel {
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
  let best = lambdas[0]!;
  if (lambdas.length > 1 && n > 2) {
    let bestErr = Infinity;
    for (const l of lambdas) {
      let err = 0;
      for (let i = 0; i < n; i++) {
        const f = fit([...Array(n).keys()].filter((k) => k !== i), l);
        err += (f(Z[i]!) - y[i]!) ** 2;
      }
      if (err < bestErr) [bestErr, best] = [err, l];
    }
  }
  const f = fit([...Array(n).keys()], best);
  return { lambda: best, predict: (x) => f(x.map((v, j) => (v - mean[j]!) / sd[j]!)) };
}
