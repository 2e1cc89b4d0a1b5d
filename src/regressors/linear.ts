import MLR from 'ml-regression-multivariate-linear';
import type { Regressor, RegressorKind } from './types.js';

/**
 * Log-log linear model: log(latency) as a linear function of log-scaled features, i.e. a
 * power law in FLOPs, bytes and sizes. Tiny and fast; the baseline every other RM must beat.
 */
class LogLinear implements Regressor {
  readonly kind = 'loglinear';
  constructor(private model?: MLR) {}

  fit(X: number[][], yMs: number[]): void {
    // a small ridge term via augmented rows keeps collinear features (macs vs flops) stable
    const d = X[0]!.length;
    const lambda = 1e-3 * X.length;
    const Xa = [...X, ...Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? Math.sqrt(lambda) : 0)))];
    const ya = [...yMs.map((y) => [Math.log(y)]), ...Array.from({ length: d }, () => [0])];
    this.model = new MLR(Xa, ya, { intercept: true });
  }

  predict(X: number[][]): number[] {
    if (!this.model) throw new Error('loglinear: predict before fit');
    return this.model.predict(X).map((r) => Math.exp((r as number[])[0]!));
  }

  toJSON(): unknown {
    return this.model!.toJSON();
  }
}

export const logLinear: RegressorKind = {
  kind: 'loglinear',
  description: 'ridge-regularised linear model in log space (power law)',
  create: () => new LogLinear(),
  load: (json) => new LogLinear(MLR.load(json as ReturnType<MLR['toJSON']>)),
};
