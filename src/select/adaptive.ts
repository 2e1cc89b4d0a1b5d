import type { FeatureSpace, FeatureSource, FitContext, RegressorKind } from '../regressors/index.js';
import { standardise, standardiser } from '../regressors/ridge.js';
import { Rng } from '../util/random.js';

/**
 * Adaptive sampling in the spirit of nn-Meter's: given the configurations measured so far and a
 * pool of unmeasured candidates, find where the RM errs (out-of-fold relative error, k-fold on the
 * measured set) and choose the next configurations near those points — nearest in the standardised
 * parameter and kernel features, so a channel count just past a vector-block edge is "near" the
 * one before it only when it is also near in padding. A share of each round stays random
 * (exploration), so regions where no point has been measured yet are not starved.
 */
export interface AdaptiveOptions {
  /** share of each round drawn at random instead of near high-error points */
  explore?: number;
  /** share of measured points counted as high-error */
  hardShare?: number;
  folds?: number;
  seed?: number;
}

export async function outOfFoldErrors(kind: RegressorKind, X: number[][], y: number[], folds: number, seed: number, ctx?: FitContext): Promise<number[]> {
  const n = X.length;
  const fold = new Rng(seed).shuffle([...Array(n).keys()]);
  const foldOf = new Array<number>(n);
  fold.forEach((row, i) => (foldOf[row] = i % folds));
  const err = new Array<number>(n).fill(0);
  for (let f = 0; f < folds; f++) {
    const tr = [...Array(n).keys()].filter((i) => foldOf[i] !== f);
    const te = [...Array(n).keys()].filter((i) => foldOf[i] === f);
    const m = kind.create(seed + f);
    await m.fit(tr.map((i) => X[i]!), tr.map((i) => y[i]!), ctx);
    const p = m.predict(te.map((i) => X[i]!));
    te.forEach((i, k) => (err[i] = Math.abs(p[k]! / y[i]! - 1)));
  }
  return err;
}

/** Indices into `pool` of the next `k` configurations to measure. */
export async function adaptivePick(
  kind: RegressorKind,
  fs: FeatureSpace,
  measured: Array<FeatureSource & { latency_ms: number }>,
  pool: FeatureSource[],
  k: number,
  opts: AdaptiveOptions = {},
): Promise<number[]> {
  const rng = new Rng(opts.seed ?? 1);
  const X = measured.map((r) => fs.encode(r));
  const err = await outOfFoldErrors(kind, X, measured.map((r) => r.latency_ms), opts.folds ?? 3, opts.seed ?? 1, { additiveColumns: fs.additiveColumns });
  // distance on the parameter and kernel features: where a configuration is, not what it costs
  const cols = fs.groups.map((g, j) => (g === 'param' || g === 'kernel' ? j : -1)).filter((j) => j >= 0);
  const pick = (x: number[]) => cols.map((j) => x[j]!);
  const P = pool.map((r) => pick(fs.encode(r)));
  const st = standardiser([...X.map(pick), ...P]);
  const Pz = P.map((x) => standardise(st, x));
  const hard = measured
    .map((_, i) => i)
    .sort((a, b) => err[b]! - err[a]!)
    .slice(0, Math.max(1, Math.round(measured.length * (opts.hardShare ?? 0.2))))
    .map((i) => standardise(st, pick(X[i]!)));
  const taken = new Set<number>();
  const nExplore = Math.round(k * (opts.explore ?? 0.2));
  // round-robin over the hard points (worst first): each takes its nearest free candidate
  for (let h = 0; taken.size < Math.min(k - nExplore, pool.length); h = (h + 1) % hard.length) {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < Pz.length; c++) {
      if (taken.has(c)) continue;
      let d = 0;
      for (let j = 0; j < cols.length; j++) d += (Pz[c]![j]! - hard[h]![j]!) ** 2;
      if (d < bestD) [bestD, best] = [d, c];
    }
    if (best < 0) break;
    taken.add(best);
  }
  const free = rng.shuffle(pool.map((_, i) => i).filter((i) => !taken.has(i)));
  for (const i of free) {
    if (taken.size >= Math.min(k, pool.length)) break;
    taken.add(i);
  }
  return [...taken];
}
