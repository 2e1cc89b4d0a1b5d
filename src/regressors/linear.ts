import { fitRidgeCV, linearPredict, type LinearState } from './ridge.js';
import type { Regressor, RegressorKind } from './types.js';

/**
 * Log-log ridge regression: log(latency) as a linear function of the (already log-scaled)
 * features, i.e. a power law in FLOPs, bytes and sizes; λ by 5-fold cross-validation. Tiny and
 * fast: the baseline every other RM must beat, and the base the boosted trees correct.
 */
class LogLinear implements Regressor {
  readonly kind = 'loglinear';
  constructor(private state?: LinearState) {}

  fit(X: number[][], yMs: number[]): void {
    this.state = fitRidgeCV(X, yMs.map(Math.log));
  }

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('loglinear: predict before fit');
    return X.map((r) => Math.exp(linearPredict(s, r)));
  }

  toJSON(): unknown {
    return this.state;
  }
}

export const logLinear: RegressorKind = {
  kind: 'loglinear',
  description: 'ridge regression in log space on standardised features (a power law), λ by 5-fold CV',
  library: 'own ridge on ml-matrix',
  create: () => new LogLinear(),
  load: (json) => new LogLinear(json as LinearState),
};

/** Degree-2 expansion of the continuous features (squares and pairwise products). */
export function quadratic(x: number[], cols: number[]): number[] {
  const out = x.slice();
  for (let a = 0; a < cols.length; a++) for (let b = a; b < cols.length; b++) out.push(x[cols[a]!]! * x[cols[b]!]!);
  return out;
}

/**
 * linearPredict(s, quadratic(x, cols)) without building the expanded vector (~150 numbers a
 * configuration; whole-model prediction meets dozens per network): the same terms, added in the
 * same order, so the same answer to the last bit.
 */
export function quadraticPredict(s: LinearState, x: number[], cols: number[]): number {
  let acc = s.intercept;
  let j = 0;
  for (; j < x.length; j++) acc += ((x[j]! - s.mean[j]!) / s.sd[j]!) * s.weights[j]!;
  for (let a = 0; a < cols.length; a++) {
    for (let b = a; b < cols.length; b++, j++) acc += ((x[cols[a]!]! * x[cols[b]!]! - s.mean[j]!) / s.sd[j]!) * s.weights[j]!;
  }
  return acc;
}

const QUAD_COLS = 16;

interface PolyState {
  cols: number[];
  linear: LinearState;
}

/**
 * Polynomial (degree 2) ridge in log space: the power law plus every square and pairwise
 * product of the continuous features (one-hot columns enter linearly), λ by 5-fold CV.
 */
class Poly2 implements Regressor {
  readonly kind = 'poly2';
  constructor(private state?: PolyState) {}

  fit(X: number[][], yMs: number[]): void {
    // continuous = takes more than two distinct values (one-hots and flags stay linear); of
    // those, the QUAD_COLS that move log latency most in a linear fit (all of them: ~1,000 terms)
    const lin = fitRidgeCV(X, yMs.map(Math.log));
    const cols = X[0]!.map((_, j) => j)
      .filter((j) => new Set(X.map((r) => r[j])).size > 2)
      .sort((a, b) => Math.abs(lin.weights[b]!) - Math.abs(lin.weights[a]!))
      .slice(0, QUAD_COLS);
    this.state = { cols, linear: fitRidgeCV(X.map((r) => quadratic(r, cols)), yMs.map(Math.log), { lambdas: [1e-5, 1e-4, 1e-3, 1e-2, 0.1] }) };
  }

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('poly2: predict before fit');
    return X.map((r) => Math.exp(quadraticPredict(s.linear, r, s.cols)));
  }

  toJSON(): unknown {
    return this.state;
  }
}

export const poly2: RegressorKind = {
  kind: 'poly2',
  description: 'degree-2 polynomial ridge in log space (squares and pairwise products), λ by 5-fold CV',
  library: 'own ridge on ml-matrix',
  create: () => new Poly2(),
  load: (json) => new Poly2(json as PolyState),
};
