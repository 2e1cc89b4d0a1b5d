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
    this.index = undefined;
  }

  /** the search structure, built on first prediction */
  private index?: KnnIndex;

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('knn: predict before fit');
    const index = (this.index ??= new KnnIndex(s.points, s.weights));
    return X.map((x) => {
      const best = index.nearest(standardise(s.scale, x), s.k);
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

/** summing in another order moves a distance by a few ulps: the screen lets that much through */
const SLACK = 1 + 1e-9;

/**
 * Exact k-nearest search under the weighted distance. The points are visited outwards from the
 * query along the feature with the largest weight: that feature's term alone is a lower bound of
 * the distance, so once it exceeds the k-th best distance on one side, every point further out on
 * that side is skipped. A visited point is first screened with its features heaviest first (the
 * partial sum passes the bound soonest); one that survives is summed again in feature order, and
 * ties go to the lower point index — so the neighbours, and the answer, are to the last bit those
 * of a scan over every point in order (tested). Whole-model prediction asks ~17 convolutions of a
 * 400-point set per network; with this search a whole prediction took 8–16 % less time than with
 * the scan (scripts/predict-time-ab.mjs, reports/models-history.md, session 27).
 */
export class KnnIndex {
  private readonly d: number;
  private readonly n: number;
  private readonly weights: Float64Array;
  /** the feature the points are ordered by, each position's point index and axis value */
  private readonly axis: number;
  private readonly order: Int32Array;
  private readonly axisValue: Float64Array;
  /** the points in axis order: features in index order (exact sums) and heaviest first (screen) */
  private readonly rows: Float64Array;
  private readonly screenRows: Float64Array;
  private readonly byWeight: Int32Array;
  private readonly screenWeights: Float64Array;
  private readonly zScreen: Float64Array;

  constructor(points: readonly number[][], weights: readonly number[]) {
    const n = (this.n = points.length);
    const d = (this.d = weights.length);
    this.weights = Float64Array.from(weights);
    this.axis = weights.reduce((best, w, j) => (w > weights[best]! ? j : best), 0);
    const order = [...points.keys()].sort((a, b) => points[a]![this.axis]! - points[b]![this.axis]! || a - b);
    this.order = Int32Array.from(order);
    this.axisValue = Float64Array.from(order, (i) => points[i]![this.axis]!);
    this.byWeight = Int32Array.from([...weights.keys()].sort((a, b) => weights[b]! - weights[a]! || a - b));
    this.screenWeights = Float64Array.from(this.byWeight, (j) => weights[j]!);
    this.rows = new Float64Array(n * d);
    this.screenRows = new Float64Array(n * d);
    order.forEach((i, r) => {
      for (let j = 0; j < d; j++) this.rows[r * d + j] = points[i]![j]!;
      for (let q = 0; q < d; q++) this.screenRows[r * d + q] = points[i]![this.byWeight[q]!]!;
    });
    this.zScreen = new Float64Array(d);
  }

  /** the k nearest points to z as [distance², point index], nearest first (ties: lower index first) */
  nearest(z: readonly number[], k: number): Array<[number, number]> {
    const { d, n, weights, axis, order, axisValue, rows, screenRows, byWeight, screenWeights, zScreen } = this;
    for (let q = 0; q < d; q++) zScreen[q] = z[byWeight[q]!]!;
    const bestDist = new Float64Array(k).fill(Infinity); // ascending by (dist², index)
    const bestIndex = new Int32Array(k).fill(-1);
    const wa = weights[axis]!;
    const za = z[axis]!;
    // first position whose axis value is ≥ the query's; walk down from there - 1 and up from there
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (axisValue[mid]! < za) lo = mid + 1;
      else hi = mid;
    }
    let down = lo - 1;
    let up = lo;
    while (down >= 0 || up < n) {
      const bound = bestDist[k - 1]!;
      const tDown = down >= 0 ? za - axisValue[down]! : Infinity;
      const tUp = up < n ? za - axisValue[up]! : Infinity;
      const bDown = wa * tDown * tDown;
      const bUp = wa * tUp * tUp;
      // the side whose next point is nearer along the axis; once even that one is past the k-th
      // distance, both sides are finished (their points only get further)
      const goDown = bDown <= bUp;
      if ((goDown ? bDown : bUp) > bound) break;
      const r = goDown ? down-- : up++;
      const at = r * d;
      const limit = bound * SLACK;
      let rough = 0;
      for (let q = 0; q < d && rough <= limit; q++) {
        const t = zScreen[q]! - screenRows[at + q]!;
        rough += screenWeights[q]! * t * t;
      }
      if (rough > limit) continue;
      let dist = 0;
      for (let j = 0; j < d; j++) dist += weights[j]! * (z[j]! - rows[at + j]!) ** 2;
      const i = order[r]!;
      if (dist < bound || (dist === bound && i < bestIndex[k - 1]!)) {
        let pos = k - 1;
        while (pos > 0 && (bestDist[pos - 1]! > dist || (bestDist[pos - 1] === dist && bestIndex[pos - 1]! > i))) {
          bestDist[pos] = bestDist[pos - 1]!;
          bestIndex[pos] = bestIndex[pos - 1]!;
          pos--;
        }
        bestDist[pos] = dist;
        bestIndex[pos] = i;
      }
    }
    const out: Array<[number, number]> = [];
    for (let p = 0; p < k && bestIndex[p]! >= 0; p++) out.push([bestDist[p]!, bestIndex[p]!]);
    return out;
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
