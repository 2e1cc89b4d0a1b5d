import { Rng } from '../util/random.js';
import { fitRidgeCV, linearPredict, type LinearState } from './ridge.js';
import type { Regressor, RegressorKind } from './types.js';

/** A regression tree in flat arrays: node i splits on feature[i] < threshold[i], or is a leaf (feature −1). */
export interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

interface GbtState {
  base: LinearState;
  trees: Tree[];
}

export interface GbtOptions {
  maxDepth: number;
  minLeaf: number;
  learningRate: number;
  maxTrees: number;
  /** share of the training rows each tree sees */
  subsample: number;
  /** trees without improvement on the 10 % early-stopping split before stopping */
  patience: number;
}

const DEFAULTS: GbtOptions = { maxDepth: 5, minLeaf: 4, learningRate: 0.05, maxTrees: 800, subsample: 0.8, patience: 60 };

/**
 * Whether `x` is a GBT state over `features` inputs that predicts without error: finite numbers,
 * and every split's children after it (trees are grown level by level), so a damaged stored state
 * can neither throw nor walk in a circle.
 */
export function isGbtState(x: unknown, features: number): boolean {
  const s = x as GbtState;
  const finite = (v: unknown, n?: number) => Array.isArray(v) && (n === undefined || v.length === n) && v.every((e) => typeof e === 'number' && Number.isFinite(e));
  if (!s || typeof s !== 'object' || !s.base || !Array.isArray(s.trees)) return false;
  const b = s.base;
  if (!finite(b.mean, features) || !finite(b.sd, features) || !finite(b.weights, features) || !Number.isFinite(b.intercept)) return false;
  return s.trees.every((t) => {
    const n = t?.feature?.length;
    if (!n || ![t.feature, t.threshold, t.left, t.right, t.value].every((a) => finite(a, n))) return false;
    return t.feature.every((f, i) => f < 0 || (Number.isInteger(f) && f < features && t.left[i]! > i && t.right[i]! > i && t.left[i]! < n && t.right[i]! < n && Number.isInteger(t.left[i]) && Number.isInteger(t.right[i])));
  });
}

/** a stored tree model (GBT or forest: a ridge base and trees) checked before use: one that fails would answer garbage or never return */
export function checkedTreeState<T>(json: unknown, kind: string): T {
  const features = (json as GbtState | undefined)?.base?.mean?.length;
  if (!features || !isGbtState(json, features)) throw new Error(`the stored ${kind} state is damaged (its ridge base or a tree is malformed, or a split points backwards)`);
  return json as T;
}

export function treePredict(t: Tree, x: number[]): number {
  let i = 0;
  while (t.feature[i]! >= 0) i = x[t.feature[i]!]! < t.threshold[i]! ? t.left[i]! : t.right[i]!;
  return t.value[i]!;
}

/**
 * Trees packed into typed arrays, for prediction: a walk over one contiguous array per field is
 * ~3× faster than over one small object of arrays per tree (whole-model prediction walks ~500
 * trees for every distinct convolution of a network). Sums in tree order, as a loop over
 * treePredict would, so the answers are the same to the last bit.
 */
export class PackedTrees {
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Float64Array;

  constructor(trees: readonly Tree[]) {
    const total = trees.reduce((s, t) => s + t.feature.length, 0);
    this.roots = new Int32Array(trees.length);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.value = new Float64Array(total);
    let at = 0;
    trees.forEach((t, k) => {
      this.roots[k] = at;
      for (let i = 0; i < t.feature.length; i++) {
        this.feature[at + i] = t.feature[i]!;
        this.threshold[at + i] = t.threshold[i]!;
        this.left[at + i] = at + t.left[i]!;
        this.right[at + i] = at + t.right[i]!;
        this.value[at + i] = t.value[i]!;
      }
      at += t.feature.length;
    });
  }

  /** the sum of every tree's answer for x, added in tree order starting from `start` */
  sum(x: readonly number[], start = 0): number {
    const { roots, feature, threshold, left, right, value } = this;
    let v = start;
    for (let k = 0; k < roots.length; k++) {
      let i = roots[k]!;
      let f = feature[i]!;
      while (f >= 0) {
        i = x[f]! < threshold[i]! ? left[i]! : right[i]!;
        f = feature[i]!;
      }
      v += value[i]!;
    }
    return v;
  }
}

/**
 * Grows one least-squares tree level by level: per level, each feature's pre-sorted row order is
 * scanned once, accumulating every open node's left sums, so a level costs O(features × rows).
 */
export function growTree(X: number[][], r: number[], rows: Uint8Array, sorted: Int32Array[], o: GbtOptions): Tree {
  const n = X.length;
  const t: Tree = { feature: [-1], threshold: [0], left: [-1], right: [-1], value: [0] };
  const nodeOf = new Int32Array(n).fill(-1);
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) if (rows[i]) {
    nodeOf[i] = 0;
    sum += r[i]!;
    cnt++;
  }
  let open = [{ id: 0, sum, cnt }];
  for (let depth = 0; depth < o.maxDepth && open.length; depth++) {
    const slot = new Map(open.map((nd, k) => [nd.id, k]));
    const best = open.map(() => ({ gain: 1e-12, feature: -1, threshold: 0 }));
    const sl = new Float64Array(open.length);
    const nl = new Int32Array(open.length);
    const last = new Float64Array(open.length);
    for (let j = 0; j < X[0]!.length; j++) {
      sl.fill(0);
      nl.fill(0);
      for (const i of sorted[j]!) {
        const node = nodeOf[i]!;
        if (node < 0) continue;
        const k = slot.get(node);
        if (k === undefined) continue;
        const v = X[i]![j]!;
        const nd = open[k]!;
        if (nl[k]! >= o.minLeaf && nd.cnt - nl[k]! >= o.minLeaf && v > last[k]!) {
          const sr = nd.sum - sl[k]!;
          const gain = (sl[k]! * sl[k]!) / nl[k]! + (sr * sr) / (nd.cnt - nl[k]!) - (nd.sum * nd.sum) / nd.cnt;
          if (gain > best[k]!.gain) best[k] = { gain, feature: j, threshold: (last[k]! + v) / 2 };
        }
        sl[k]! += r[i]!;
        nl[k]!++;
        last[k] = v;
      }
    }
    const next: typeof open = [];
    open.forEach((nd, k) => {
      const b = best[k]!;
      t.value[nd.id] = nd.sum / nd.cnt;
      if (b.feature < 0) return;
      const l = t.feature.length;
      t.feature[nd.id] = b.feature;
      t.threshold[nd.id] = b.threshold;
      t.left[nd.id] = l;
      t.right[nd.id] = l + 1;
      for (let c = 0; c < 2; c++) {
        t.feature.push(-1);
        t.threshold.push(0);
        t.left.push(-1);
        t.right.push(-1);
        t.value.push(0);
      }
      next.push({ id: l, sum: 0, cnt: 0 }, { id: l + 1, sum: 0, cnt: 0 });
    });
    if (!next.length) break;
    const nextSlot = new Map(next.map((x, k) => [x.id, k]));
    for (let i = 0; i < n; i++) {
      const node = nodeOf[i]!;
      if (node < 0 || t.feature[node]! < 0) continue;
      const child = X[i]![t.feature[node]!]! < t.threshold[node]! ? t.left[node]! : t.right[node]!;
      nodeOf[i] = child;
      const nd = next[nextSlot.get(child)!]!;
      nd.sum += r[i]!;
      nd.cnt++;
    }
    open = next;
  }
  for (const nd of open) if (nd.cnt) t.value[nd.id] = nd.sum / nd.cnt;
  return t;
}

/**
 * Gradient-boosted regression trees on the residual of the log-space power law (the ridge fit):
 * the power law carries the smooth scaling with FLOPs and bytes — which trees cannot extrapolate —
 * and the trees learn the steps (vector-width padding, cache fits). Written here because no
 * maintained npm package does GBT regression in plain JS (ml-xgboost is an old single-maintainer
 * wasm build; see README).
 */
class Gbt implements Regressor {
  readonly kind = 'gbt';
  constructor(private readonly seed: number, private state?: GbtState, private readonly o: GbtOptions = DEFAULTS) {}
  /** the state's trees packed for prediction (on first use) */
  private packed?: PackedTrees;

  fit(X: number[][], yMs: number[]): void {
    const n = X.length;
    const y = yMs.map(Math.log);
    const base = fitRidgeCV(X, y);
    const rng = new Rng(this.seed);
    const order = rng.shuffle([...Array(n).keys()]);
    const nVal = n >= 50 ? Math.round(n * 0.1) : 0;
    const isVal = new Uint8Array(n);
    for (const i of order.slice(0, nVal)) isVal[i] = 1;
    const pred = X.map((x) => linearPredict(base, x));
    const sorted = X[0]!.map((_, j) => Int32Array.from([...Array(n).keys()].sort((a, b) => X[a]![j]! - X[b]![j]!)));
    const trees: Tree[] = [];
    let bestErr = Infinity;
    let bestCount = 0;
    for (let m = 0; m < this.o.maxTrees; m++) {
      const rows = new Uint8Array(n);
      for (let i = 0; i < n; i++) rows[i] = !isVal[i] && rng.next() < this.o.subsample ? 1 : 0;
      const r = y.map((v, i) => v - pred[i]!);
      const t = growTree(X, r, rows, sorted, this.o);
      t.value = t.value.map((v) => v * this.o.learningRate);
      trees.push(t);
      let err = 0;
      for (let i = 0; i < n; i++) {
        pred[i]! += treePredict(t, X[i]!);
        if (isVal[i]) err += (pred[i]! - y[i]!) ** 2;
      }
      if (!nVal) continue;
      if (err < bestErr - 1e-9) [bestErr, bestCount] = [err, trees.length];
      else if (trees.length - bestCount >= this.o.patience) break;
    }
    this.state = { base, trees: nVal ? trees.slice(0, bestCount) : trees };
    this.packed = undefined;
  }

  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw new Error('gbt: predict before fit');
    const packed = (this.packed ??= new PackedTrees(s.trees));
    return X.map((x) => Math.exp(packed.sum(x, linearPredict(s.base, x))));
  }

  toJSON(): unknown {
    return this.state;
  }
}

/** a GBT with other hyper-parameters (tuning experiments) */
export const createGbt = (seed: number, o: Partial<GbtOptions>) => new Gbt(seed, undefined, { ...DEFAULTS, ...o });

export const gbt: RegressorKind = {
  kind: 'gbt',
  description: 'gradient-boosted trees (depth 5, shrinkage 0.05, early stopping) on the residual of the log-space ridge',
  library: 'own',
  create: (seed) => new Gbt(seed),
  load: (json) => new Gbt(0, checkedTreeState<GbtState>(json, 'gbt')),
};
