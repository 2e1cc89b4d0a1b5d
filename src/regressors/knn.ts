import { solveRidge, standardise, standardiser, type Standardiser } from './ridge.js';
import type { Regressor, RegressorKind } from './types.js';

interface KnnState {
  k: number;
  scale: Standardiser;
  /** per-feature weights of the distance: |ridge coefficient| on standardised features */
  weights: number[];
  points: number[][];
  logY: number[];
}

/**
 * k nearest neighbours in log space with inverse-distance weighting, on standardised features
 * weighted by how much each moves latency (a plain Euclidean distance treats a one-hot flag like
 * a 100× change of FLOPs). Written here: ml-knn is a classifier (majority vote), not a regressor.
 */
class Knn implements Regressor {
  readonly kind = 'knn';
  constructor(private state?: KnnState) {}

  fit(X: number[][], yMs: number[]): void {
    const scale = standardiser(X);
    const Z = X.map((r) => standardise(scale, r));
    const logY = yMs.map(Math.log);
    // feature weights from a quick ridge fit (the ridge solver on standardised features)
    const weights = ridgeWeights(Z, logY);
    this.state = { k: Math.min(5, X.length), scale, weights, points: Z, logY };
    this.flat = undefined;
  }

  /** the points in one contiguous array, for prediction (built on first use) */
  private flat?: { points: Float64Array; weights: Float64Array };

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('knn: predict before fit');
    const d = s.weights.length;
    const flat = (this.flat ??= { points: Float64Array.from(s.points.flat()), weights: Float64Array.from(s.weights) });
    const { points, weights } = flat;
    const n = s.points.length;
    return X.map((x) => {
      const z = standardise(s.scale, x);
      const best: Array<[number, number]> = []; // [dist², index], ascending, at most k
      for (let i = 0, at = 0; i < n; i++, at += d) {
        // the weights are positive, so the partial sum only grows: once it reaches the k-th best
        // distance the point cannot enter (the same neighbours, summed in the same order)
        const bound = best.length < s.k ? Infinity : best[best.length - 1]![0];
        let dist = 0;
        for (let j = 0; j < d && dist < bound; j++) dist += weights[j]! * (z[j]! - points[at + j]!) ** 2;
        if (dist < bound) {
          let pos = best.length;
          while (pos > 0 && best[pos - 1]![0] > dist) pos--;
          best.splice(pos, 0, [dist, i]);
          if (best.length > s.k) best.pop();
        }
      }
      let wsum = 0;
      let acc = 0;
      for (const [dist, i] of best) {
        const w = 1 / (Math.sqrt(dist) + 1e-6);
        wsum += w;
        acc += w * s.logY[i]!;
      }
      return Math.exp(acc / wsum);
    });
  }

  toJSON(): unknown {
    return this.state;
  }
}

function ridgeWeights(Z: number[][], y: number[]): number[] {
  const ym = y.reduce((a, b) => a + b, 0) / y.length;
  const w = solveRidge(Z, y.map((v) => v - ym), 1e-2 * Z.length);
  const norm = Math.max(...w.map(Math.abs)) || 1;
  return w.map((v) => Math.abs(v) / norm + 1e-3);
}

export const knn: RegressorKind = {
  kind: 'knn',
  description: 'k = 5 nearest neighbours, inverse-distance weighted in log space, ridge-weighted distance',
  library: 'own',
  create: () => new Knn(),
  load: (json) => new Knn(json as KnnState),
};
