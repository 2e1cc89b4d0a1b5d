import { Matrix, solve } from 'ml-matrix';
import type { Regressor, RegressorKind } from './types.js';

interface LinearState {
  mean: number[];
  scale: number[];
  weights: number[];
  intercept: number;
}

/**
 * Log-log ridge regression: log(latency) as a linear function of the (already log-scaled)
 * features, i.e. a power law in FLOPs, bytes and sizes. Features are standardised and centred so
 * the ridge term (which keeps collinear features such as MACs vs FLOPs stable) never touches the
 * intercept. Tiny and fast: the baseline every other RM must beat.
 */
class LogLinear implements Regressor {
  readonly kind = 'loglinear';
  constructor(private state?: LinearState, private readonly lambda = 1e-3) {}

  fit(X: number[][], yMs: number[]): void {
    const n = X.length;
    const d = X[0]!.length;
    const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / n);
    const scale = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
    const y = yMs.map(Math.log);
    const yMean = y.reduce((a, b) => a + b, 0) / n;
    const Z = new Matrix(X.map((r) => r.map((v, j) => (v - mean[j]!) / scale[j]!)));
    const A = Z.transpose().mmul(Z).add(Matrix.eye(d, d).mul(this.lambda * n));
    const b = Z.transpose().mmul(Matrix.columnVector(y.map((v) => v - yMean)));
    this.state = { mean, scale, weights: solve(A, b).getColumn(0), intercept: yMean };
  }

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('loglinear: predict before fit');
    return X.map((r) => Math.exp(r.reduce((acc, v, j) => acc + ((v - s.mean[j]!) / s.scale[j]!) * s.weights[j]!, s.intercept)));
  }

  toJSON(): unknown {
    return this.state;
  }
}

export const logLinear: RegressorKind = {
  kind: 'loglinear',
  description: 'ridge regression in log space on standardised features (a power law)',
  create: () => new LogLinear(),
  load: (json) => new LogLinear(json as LinearState),
};
