import { Rng } from '../util/random.js';

/**
 * The project's one ridge solver. `solveGram` is the core (the normal equations plus λI, by
 * Cholesky) and `solveRidge` feeds it rows (weights of centred targets on standardised features);
 * `fitRidge` picks λ by leave-one-out for a handful of points (few-shot transfer), taking each
 * left-out row out of the normal equations; `fitRidgeCV` picks it by k-fold cross-validation for
 * datasets of hundreds.
 */

export interface Standardiser {
  mean: number[];
  sd: number[];
}

export function standardiser(X: number[][]): Standardiser {
  const n = X.length;
  const d = X[0]!.length;
  const mean = new Array<number>(d);
  const sd = new Array<number>(d);
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let r = 0; r < n; r++) s += X[r]![j]!;
    mean[j] = s / n;
  }
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let r = 0; r < n; r++) s += (X[r]![j]! - mean[j]!) ** 2;
    sd[j] = Math.sqrt(s / n) || 1;
  }
  return { mean, sd };
}

export const standardise = (s: Standardiser, x: number[]) => x.map((v, j) => (v - s.mean[j]!) / s.sd[j]!);

/** w minimising |Zw − y|² + λ|w|² (no intercept: centre y and Z first) */
export function solveRidge(Z: number[][], y: number[], lambda: number): number[] {
  const d = Z[0]!.length;
  const G = new Float64Array(d * d);
  const b = new Float64Array(d);
  for (let r = 0; r < Z.length; r++) addOuter(G, b, Z[r]!, y[r]!);
  return solveGram(G, b, d, lambda);
}

/** G += z zᵀ and b += z y: one row into the normal equations */
function addOuter(G: Float64Array, b: Float64Array, z: number[], y: number): void {
  const d = z.length;
  for (let j = 0; j < d; j++) {
    b[j]! += z[j]! * y;
    for (let k = 0; k < d; k++) G[j * d + k]! += z[j]! * z[k]!;
  }
}

/**
 * Solves (G + λI) w = b by Cholesky (G + λI is symmetric positive definite for λ > 0). Written
 * here rather than through ml-matrix because few-shot fitting solves ~100 tiny systems per fit
 * (leave-one-out over a λ grid): a fit of 10 rows, 9 features and 5 λ took 3.4–4.0 ms
 * through ml-matrix's Matrix objects, 0.35–0.57 ms this way (scratch timing on the 2-core VM).
 */
export function solveGram(G: Float64Array, b: ArrayLike<number>, d: number, lambda: number): number[];
/** the same into `scratch.w` (its first d entries), with `scratch.L` (≥ d² long) for the factor: no allocation, for hot loops */
export function solveGram(G: Float64Array, b: ArrayLike<number>, d: number, lambda: number, scratch: { L: Float64Array; w: Float64Array }): Float64Array;
export function solveGram(G: Float64Array, b: ArrayLike<number>, d: number, lambda: number, scratch?: { L: Float64Array; w: Float64Array }): number[] | Float64Array {
  if (scratch) {
    const L = cholesky(G, d, lambda, scratch.L);
    return backSubstitute(L, forwardSubstitute(L, b, d, scratch.w), d);
  }
  const L = cholesky(G, d, lambda);
  return backSubstitute(L, forwardSubstitute(L, b, d), d);
}

/** the lower Cholesky factor L of G + λI (row-major d×d; into `L` when given) */
function cholesky(G: Float64Array, d: number, lambda: number, L: Float64Array = new Float64Array(d * d)): Float64Array {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i * d + j]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      // a pivot ≤ 0 only from rounding when λ is tiny against G: clamp instead of NaN
      L[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j * d + j]!;
    }
  }
  return L;
}

/** L⁻¹ b (into `w` when given: a scratch buffer reused over many solves) */
function forwardSubstitute<T extends number[] | Float64Array = number[]>(L: Float64Array, b: ArrayLike<number>, d: number, w: T = new Array<number>(d) as T): T {
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * d + k]! * w[k]!;
    w[i] = s / L[i * d + i]!;
  }
  return w;
}

/** L⁻ᵀ v, in place */
function backSubstitute<T extends number[] | Float64Array>(L: Float64Array, v: T, d: number): T {
  for (let i = d - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * v[k]!;
    v[i] = s / L[i * d + i]!;
  }
  return v;
}

export interface RidgeModel {
  predict(x: number[]): number;
  /** the same model on raw (unstandardised) features: intercept + x·weights, for hot loops */
  raw: { intercept: number; weights: number[] };
  lambda: number;
  /** leave-one-out predictions of the training targets at the chosen λ (NaN when n ≤ 2) */
  loo: number[];
}

/**
 * Ridge regression y ≈ x·w + b on standardised x, with λ picked by leave-one-out error from a
 * grid: the closed-form adaptation step for few-shot transfer, where k can be as small as 5. Each
 * leave-one-out fit takes its row out of the full normal equations (same fit as refitting on the
 * other rows: their mean target, the standardisation of all rows), by a rank-one downdate.
 */
export function fitRidge(X: number[][], y: number[], lambdas = [1e-3, 1e-2, 0.1, 1, 10, 100, 1e3, 1e4]): RidgeModel {
  const n = X.length;
  const st = standardiser(X);
  const Z = X.map((r) => standardise(st, r));
  const d = Z[0]!.length;
  // Σ z zᵀ, Σ z y, Σ z and Σ y over all rows
  const G = new Float64Array(d * d);
  const zy = new Float64Array(d);
  const zSum = new Float64Array(d);
  let ySum = 0;
  for (let r = 0; r < n; r++) {
    addOuter(G, zy, Z[r]!, y[r]!);
    for (let j = 0; j < d; j++) zSum[j]! += Z[r]![j]!;
    ySum += y[r]!;
  }
  const dot = (a: number[], w: number[]) => a.reduce((s, v, j) => s + v * w[j]!, 0);
  /** the fit on all rows: the mean target and the weights of the centred targets */
  const fit = (lambda: number) => {
    const ym = ySum / n;
    return { ym, w: solveGram(G, Float64Array.from(zy, (v, j) => v - ym * zSum[j]!), d, lambda) };
  };
  /**
   * Leave-one-out predictions at λ, each as if row i were taken out of the normal equations (and
   * the mean target taken over the other rows), from one factorisation of G + λI: with
   * A = G + λI, s = A⁻¹(zy − ȳ₋ᵢ·Σz + (ȳ₋ᵢ − yᵢ)·zᵢ) and hᵢ = zᵢᵀA⁻¹zᵢ, Sherman–Morrison gives
   * zᵢ·w₋ᵢ = zᵢ·s / (1 − hᵢ). Same numbers as refitting n times up to rounding, ~5× faster (the
   * calibration of a device in the scale predictors runs it for 9 λ).
   */
  // plain loops into one scratch buffer: calibrating a scale-predictor device runs this ~20 times
  // (three fits), and closures and per-row arrays were most of its time
  const half = new Float64Array(d);
  const looAt = (l: number) => {
    const L = cholesky(G, d, l);
    const p = backSubstitute(L, forwardSubstitute(L, zy, d), d);
    const q = backSubstitute(L, forwardSubstitute(L, zSum, d), d);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const z = Z[i]!;
      const ym = (ySum - y[i]!) / (n - 1);
      forwardSubstitute(L, z, d, half);
      let h = 0;
      for (let a = 0; a < d; a++) h += half[a]! * half[a]!;
      let zp = 0;
      let zq = 0;
      for (let j = 0; j < d; j++) zp += z[j]! * p[j]!;
      for (let j = 0; j < d; j++) zq += z[j]! * q[j]!;
      const zs = zp - ym * zq + (ym - y[i]!) * h;
      out[i] = ym + zs / (1 - h);
    }
    return out;
  };
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
  const f = fit(best);
  const weights = f.w.map((w, j) => w / st.sd[j]!);
  const raw = { intercept: f.ym - weights.reduce((s, w, j) => s + w * st.mean[j]!, 0), weights };
  return { lambda: best, loo, raw, predict: (x) => f.ym + dot(standardise(st, x), f.w) };
}

/** A fitted linear model on standardised features: JSON-serialisable. */
export interface LinearState {
  mean: number[];
  sd: number[];
  weights: number[];
  intercept: number;
  lambda: number;
}

export const linearPredict = (s: LinearState, x: number[]) => x.reduce((acc, v, j) => acc + ((v - s.mean[j]!) / s.sd[j]!) * s.weights[j]!, s.intercept);

/**
 * Ridge with λ (relative to n) chosen by k-fold cross-validated squared error; the folds are fixed
 * by `seed`. For datasets of tens to thousands of rows.
 */
export function fitRidgeCV(X: number[][], y: number[], opts: { lambdas?: number[]; folds?: number; seed?: number } = {}): LinearState {
  const lambdas = opts.lambdas ?? [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1];
  const n = X.length;
  const st = standardiser(X);
  const Z = X.map((r) => standardise(st, r));
  const fitRows = (rows: number[], lambda: number) => {
    const ym = rows.reduce((s, i) => s + y[i]!, 0) / rows.length;
    return { ym, w: solveRidge(rows.map((i) => Z[i]!), rows.map((i) => y[i]! - ym), lambda * rows.length) };
  };
  let best = lambdas[Math.floor(lambdas.length / 2)]!;
  const k = Math.min(opts.folds ?? 5, n);
  if (k >= 2 && lambdas.length > 1) {
    const fold = new Rng(opts.seed ?? 1).shuffle([...Array(n).keys()]).map((_, i) => i % k);
    const order = new Rng(opts.seed ?? 1).shuffle([...Array(n).keys()]);
    const foldOf = new Array<number>(n);
    order.forEach((row, i) => (foldOf[row] = fold[i]!));
    let bestErr = Infinity;
    for (const l of lambdas) {
      let err = 0;
      for (let f = 0; f < k; f++) {
        const { ym, w } = fitRows([...Array(n).keys()].filter((i) => foldOf[i] !== f), l);
        for (let i = 0; i < n; i++) if (foldOf[i] === f) err += (ym + Z[i]!.reduce((s, v, j) => s + v * w[j]!, 0) - y[i]!) ** 2;
      }
      if (err < bestErr) [bestErr, best] = [err, l];
    }
  }
  const { ym, w } = fitRows([...Array(n).keys()], best);
  return { mean: st.mean, sd: st.sd, weights: w, intercept: ym, lambda: best };
}

/**
 * fitNonNegativeRelative over the same rows for many λ and left-out rows (leave-one-out over a λ
 * grid; each answer the fit of the rows kept): the rows' normal-equation terms are summed once
 * before column scaling, and a left-out row's terms and its share of the column scales taken back
 * out. A device's op-cost model (scale/pair.ts) makes 51 such fits per calibration: ~0.7 ms
 * refitting each from its rows, ~0.06 ms this way. `penalties`: see fitNonNegativeRelative.
 */
export function nonNegativeRelativeFitter(X: number[][], y: readonly number[], signed: ReadonlySet<number> = new Set(), penalties: ReadonlyMap<number, number> = new Map(), priors: ReadonlyMap<number, number> = new Map()): (lambda: number, leaveOut?: number) => number[] {
  const n = X.length;
  const d = X[0]?.length ?? 0;
  // rows in relative terms (target 1), their normal equations and column sums of |x|, unscaled
  const R = X.map((r, i) => r.map((v) => v / y[i]!));
  const G = new Float64Array(d * d);
  const b = new Float64Array(d);
  for (const r of R) addOuter(G, b, r, 1);
  const st: RelativeFitState = {
    n,
    d,
    R,
    G,
    b,
    absSum: Float64Array.from({ length: d }, (_, j) => R.reduce((s, r) => s + Math.abs(r[j]!), 0)),
    canBeNegative: Uint8Array.from({ length: d }, (_, j) => (signed.has(j) ? 1 : 0)),
    // a column's own ridge on its scaled weight (as a pseudo-row √λ·e_j with target 0 would add)
    penalty: Float64Array.from({ length: d }, (_, j) => { const p = penalties.get(j) ?? 0; return p > 0 ? p : 0; }),
    // …pulling the weight toward its prior (0 unless given): the pseudo-row's target is the prior's scaled value
    prior: Float64Array.from({ length: d }, (_, j) => priors.get(j) ?? 0),
    active: new Uint8Array(d),
    cols: new Int32Array(d),
    scale: new Float64Array(d),
    sub: new Float64Array(d * d),
    rhs: new Float64Array(d),
    scratch: { L: new Float64Array(d * d), w: new Float64Array(d) },
  };
  return (lambda, leaveOut) => fitRelativeKept(st, lambda, leaveOut);
}

/** what nonNegativeRelativeFitter sums once, and its scratch buffers */
interface RelativeFitState {
  n: number;
  d: number;
  R: number[][];
  G: Float64Array;
  b: Float64Array;
  absSum: Float64Array;
  canBeNegative: Uint8Array;
  penalty: Float64Array;
  prior: Float64Array;
  active: Uint8Array;
  cols: Int32Array;
  scale: Float64Array;
  sub: Float64Array;
  rhs: Float64Array;
  scratch: { L: Float64Array; w: Float64Array };
}

/**
 * One fit of nonNegativeRelativeFitter's rows (without `leaveOut`). A function of the state rather
 * than a closure over its arrays, like rowDot in scale/pair.ts (a calibration's 51 fits: ~5 % less
 * time in one A/B of session 53, within the noise in another).
 */
function fitRelativeKept(st: RelativeFitState, lambda: number, leaveOut: number | undefined): number[] {
  const { n, d, G, b, absSum, canBeNegative, penalty, prior, active, cols, scale, sub, rhs, scratch } = st;
  const out = leaveOut === undefined ? undefined : st.R[leaveOut]!;
  const m = out ? n - 1 : n;
  // each column scaled by its mean |x/y| over the rows fitted, as fitNonNegativeRelative does
  for (let j = 0; j < d; j++) scale[j] = Math.max(1e-30, (absSum[j]! - (out ? Math.abs(out[j]!) : 0)) / m);
  active.fill(1);
  const w = new Array<number>(d).fill(0);
  for (let iter = 0; iter <= d; iter++) {
    let k = 0;
    for (let j = 0; j < d; j++) if (active[j]) cols[k++] = j;
    if (!k) break;
    for (let u = 0; u < k; u++) {
      const a = cols[u]!;
      rhs[u] = (b[a]! - (out ? out[a]! : 0)) / scale[a]! + penalty[a]! * prior[a]! * scale[a]!;
      for (let v = 0; v < k; v++) {
        const e = cols[v]!;
        sub[u * k + v] = (G[a * d + e]! - (out ? out[a]! * out[e]! : 0)) / (scale[a]! * scale[e]!);
      }
      sub[u * k + u]! += penalty[a]!;
    }
    const sol = solveGram(sub, rhs, k, lambda, scratch);
    w.fill(0);
    let negative = false;
    for (let u = 0; u < k; u++) {
      const j = cols[u]!;
      w[j] = sol[u]! / scale[j]!;
      if (w[j]! < 0 && !canBeNegative[j]) negative = true;
    }
    if (!negative) break;
    for (let u = 0; u < k; u++) {
      const j = cols[u]!;
      if (w[j]! < 0 && !canBeNegative[j]) {
        active[j] = 0;
        w[j] = 0;
      }
    }
  }
  return w;
}

/**
 * w ≥ 0 minimising the squared *relative* error Σ((yᵢ − xᵢ·w)/yᵢ)² (no intercept: give a column
 * of ones for one). Columns are rescaled for conditioning; a coefficient that comes out negative
 * is fixed at 0 and the rest refitted (a small active-set loop). Used for rooflines and the
 * whole-model calibration, where every coefficient is a cost and must not be negative — except
 * the columns in `signed` (a correction that may go either way). `penalties`: a ridge of its own on
 * some columns' scaled weights, toward `priors` (0 for a column not in it). The one implementation
 * is nonNegativeRelativeFitter's.
 */
export function fitNonNegativeRelative(X: number[][], y: number[], lambda = 1e-6, signed: ReadonlySet<number> = new Set(), penalties: ReadonlyMap<number, number> = new Map(), priors: ReadonlyMap<number, number> = new Map()): number[] {
  return nonNegativeRelativeFitter(X, y, signed, penalties, priors)(lambda);
}
