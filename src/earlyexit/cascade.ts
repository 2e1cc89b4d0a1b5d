/**
 * Exit thresholds and the choice of which caches to enable — pure functions over audit records
 * (requests that ran the whole backbone, so every cache's prediction and the backbone's answer
 * are known for them).
 */

export interface AuditView {
  /** per cut point: the cache head's class probabilities (undefined when that head is untrained) */
  probs: Array<Float32Array | undefined>;
  /** the backbone's predicted class */
  teacherTop: number;
}

/**
 * The same records as columns, as the engine keeps them (view-table.ts): per head, each record's
 * top-class probability and whether that class is the backbone's (undefined: a head without a view
 * of every record). Every function below takes either form.
 */
export interface ViewColumns {
  length: number;
  conf: Array<Float32Array | undefined>;
  agree: Array<Uint8Array | undefined>;
}

export type AuditViews = readonly AuditView[] | ViewColumns;

export interface Cascade {
  /** enabled cut points, ascending */
  caches: number[];
  /** exit when the head's max probability ≥ threshold (Infinity = never) */
  thresholds: number[];
  /**
   * the cheaper no-exit path: a request whose confidence at cache j is below skipBelow[j] is
   * unlikely to exit at a later cache, so it runs straight to the end, skipping the later caches'
   * splits and heads (absent or 0 = never; the last cache has nothing to skip)
   */
  skipBelow?: number[];
}

export interface CascadeCostModel {
  /** cost of running the backbone from point `from` to point `to` (−1 = input, C = end) */
  segment(from: number, to: number): number;
  /** cost of pooling + the head at cut i */
  head(i: number): number;
  /** number of cut points C */
  cuts: number;
}

export const NO_CACHE: Cascade = { caches: [], thresholds: [] };

function top(p: Float32Array): { cls: number; conf: number } {
  let cls = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[cls]!) cls = i;
  return { cls, conf: p[cls]! };
}

/**
 * Lowest threshold for one cache such that the requests it would let exit agree with the backbone
 * at rate ≥ target, judged conservatively: (disagreements + 1) / (exits + 2) ≤ 1 − target
 * (Laplace's rule: with a 99.5 % target no cache exits before ~200 agreeing calibration requests).
 */
export function calibrateThreshold(pairs: Array<{ conf: number; agree: boolean }>, target: number): number {
  const s = sortedPairs(pairs);
  return calibrateSorted(s.conf, s.agree, s.conf.length, target);
}

/** pairs as parallel arrays in descending confidence */
function sortedPairs(pairs: Array<{ conf: number; agree: boolean }>): { conf: Float64Array; agree: Uint8Array } {
  const s = [...pairs].sort((a, b) => b.conf - a.conf);
  return { conf: Float64Array.from(s, (x) => x.conf), agree: Uint8Array.from(s, (x) => (x.agree ? 1 : 0)) };
}

/** calibrateThreshold on the first n of parallel arrays already in descending confidence */
function calibrateSorted(conf: ArrayLike<number>, agree: ArrayLike<number>, n: number, target: number): number {
  let d = 0;
  let best = Infinity;
  for (let k = 0; k < n; k++) {
    if (!agree[k]) d++;
    const groupEnd = k + 1 === n || conf[k + 1]! < conf[k]!;
    if (groupEnd && (d + 1) / (k + 3) <= 1 - target) best = conf[k]!;
  }
  return best;
}

/**
 * Lowest threshold letting through at most `allowed` disagreements (whole tie groups only).
 * Returns the threshold and the disagreements it lets through.
 */
export function thresholdWithin(pairs: Array<{ conf: number; agree: boolean }>, allowed: number): { tau: number; used: number } {
  const s = sortedPairs(pairs);
  return withinSorted(s.conf, s.agree, s.conf.length, allowed);
}

/** thresholdWithin on the first n of parallel arrays already in descending confidence */
function withinSorted(conf: ArrayLike<number>, agree: ArrayLike<number>, n: number, allowed: number): { tau: number; used: number } {
  let d = 0;
  let tau = Infinity;
  let used = 0;
  for (let k = 0; k < n; k++) {
    if (!agree[k]) d++;
    if (d > allowed) break;
    if (k + 1 === n || conf[k + 1]! < conf[k]!) {
      tau = conf[k]!;
      used = d;
    }
  }
  return { tau, used };
}

/**
 * How the agreement target is enforced.
 *  - 'overall' (default): agreement of *all* answers with the backbone ≥ target, the reading of the
 *    target that matters to a user. Allowed disagreements on the N calibration records: the most D
 *    whose Wilson upper bound (z) on the disagreement rate stays ≤ 1 − target — a margin for the
 *    optimism of picking thresholds on the same records. chooseCascade tries every split of them
 *    over the caches and keeps the cheapest (bestAllocation); calibrateCascade, which knows no
 *    costs, hands them out along the cascade: each cache half of what is left, the last one all.
 *  - 'per-exit': every cache's exits alone must agree at ≥ target (stricter; ~200 agreeing exits
 *    per cache before it may answer at 99.5 %).
 */
export type CalibrationMode = 'overall' | 'per-exit';

/** z of the Wilson bound used by 'overall' calibration (≈ a one-sided 97.7 % bound) */
export const DEFAULT_Z = 2;

/** Wilson score upper bound on a rate after d events in n trials */
export function wilsonUpper(d: number, n: number, z: number): number {
  if (n === 0) return 1;
  const p = d / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/** largest D with wilsonUpper(D, n) ≤ 1 − target; −1 when not even 0 disagreements would do */
export function allowedDisagreements(n: number, target: number, z: number): number {
  let d = -1;
  while (d + 1 <= n && wilsonUpper(d + 1, n, z) <= 1 - target) d++;
  return d;
}

/** the fewest calibration records on which the bound allows `disagreements` (searched in steps of 10) */
export function calibrationSizeFor(target: number, z: number, disagreements: number): number {
  if (!(target > 0 && target < 1)) throw new Error(`target agreement must be in (0, 1), got ${target}`);
  let n = 10;
  while (allowedDisagreements(n, target, z) < disagreements) n += 10;
  return n;
}

/** Thresholds for a cascade, each cache calibrated on the requests the earlier caches let through. */
export function calibrateCascade(records: AuditViews, caches: number[], target: number, mode: CalibrationMode = 'overall', z = DEFAULT_Z): Cascade {
  if (mode === 'per-exit') return thresholdsAlong(records, caches, (conf, agree, n) => calibrateSorted(conf, agree, n, target));
  // each cache may use half of the disagreements left, the last one all of them
  let left = allowedDisagreements(records.length, target, z);
  return thresholdsAlong(records, caches, (conf, agree, n, j) => {
    if (left < 0) return Infinity;
    const r = withinSorted(conf, agree, n, j === caches.length - 1 ? left : left / 2);
    left -= r.used;
    return r.tau;
  });
}

/**
 * Per record and head: the top confidence and whether the top class is the backbone's, and each
 * head's records in descending confidence. Computed once per record set (choosing a cascade walks
 * the same records for every cache set and allocation: sorting each time cost ~40 ms a re-plan).
 */
interface Prepared {
  conf: Array<Float32Array | undefined>;
  agree: Array<Uint8Array | undefined>;
  order: Array<Int32Array | undefined>;
}

const preparedCache = new WeakMap<AuditViews, Prepared>();

function columnsOf(records: readonly AuditView[]): ViewColumns {
  const heads = records.reduce((a, r) => Math.max(a, r.probs.length), 0);
  const out: ViewColumns = { length: records.length, conf: [], agree: [] };
  for (let c = 0; c < heads; c++) {
    if (!records.every((r) => r.probs[c])) continue;
    const conf = new Float32Array(records.length);
    const agree = new Uint8Array(records.length);
    records.forEach((r, i) => {
      const t = top(r.probs[c]!);
      conf[i] = t.conf;
      agree[i] = t.cls === r.teacherTop ? 1 : 0;
    });
    out.conf[c] = conf;
    out.agree[c] = agree;
  }
  return out;
}

function prepare(records: AuditViews): Prepared {
  let p = preparedCache.get(records);
  if (p) return p;
  const cols = 'conf' in records ? records : columnsOf(records);
  p = { conf: cols.conf, agree: cols.agree, order: [] };
  cols.conf.forEach((conf, c) => {
    if (conf) p!.order[c] = Int32Array.from({ length: cols.length }, (_, i) => i).sort((a, b) => conf[b]! - conf[a]!);
  });
  preparedCache.set(records, p);
  return p;
}

/** the records reaching a cache, in its descending confidence (reused buffers: a re-plan walks ~60 cascades) */
const along = { conf: new Float64Array(0), agree: new Uint8Array(0), reaching: new Uint8Array(0) };

/**
 * Walks the cascade: `pick` sets cache j's threshold from the first n entries of (confidence,
 * agrees) of the records reaching it, in descending confidence.
 */
function thresholdsAlong(records: AuditViews, caches: number[], pick: (conf: Float64Array, agree: Uint8Array, n: number, j: number) => number): Cascade {
  const p = prepare(records);
  const N = records.length;
  if (along.conf.length < N) along.conf = new Float64Array(N);
  if (along.agree.length < N) along.agree = new Uint8Array(N);
  if (along.reaching.length < N) along.reaching = new Uint8Array(N);
  const { conf: sc, agree: sa, reaching } = along;
  reaching.fill(1, 0, N);
  const thresholds: number[] = [];
  for (let j = 0; j < caches.length; j++) {
    const c = caches[j]!;
    const conf = p.conf[c]!;
    const agree = p.agree[c]!;
    const order = p.order[c]!;
    let n = 0;
    for (let k = 0; k < N; k++) {
      const i = order[k]!;
      if (!reaching[i]) continue;
      sc[n] = conf[i]!;
      sa[n++] = agree[i]!;
    }
    const tau = pick(sc, sa, n, j);
    thresholds.push(tau);
    for (let i = 0; i < N; i++) if (conf[i]! >= tau) reaching[i] = 0;
  }
  return { caches, thresholds };
}

/** every way to hand out `total` disagreements to `k` caches (k ≤ 3 in practice) */
function* allocations(total: number, k: number): Generator<number[]> {
  if (k === 1) return yield [total];
  for (let first = 0; first <= total; first++) for (const rest of allocations(total - first, k - 1)) yield [first, ...rest];
}

/**
 * For one set of caches, the cheapest way to hand out a budget of `allowed` disagreements on these
 * records: every split of the budget over the caches is tried (k ≤ 3 caches and a budget of a few
 * disagreements keep this small); disagreements a cache does not use pass on to the next one.
 * undefined when some cache would never exit (it would only cost).
 */
export function bestAllocation(records: AuditViews, set: number[], allowed: number, cost: CascadeCostModel): { cascade: Cascade; estimate: CascadeEstimate } | undefined {
  if (allowed < 0 || !set.length) return undefined;
  let best: { cascade: Cascade; estimate: CascadeEstimate } | undefined;
  for (const share of allocations(allowed, set.length)) {
    let carried = 0;
    const cascade = thresholdsAlong(records, set, (conf, agree, n, j) => {
      const available = share[j]! + carried;
      const r = withinSorted(conf, agree, n, available);
      carried = available - r.used;
      return r.tau;
    });
    if (cascade.thresholds.some((t) => t === Infinity)) continue;
    const estimate = simulateCascade(records, cascade, cost);
    if (!best || estimate.meanCost < best.estimate.meanCost - 1e-12) best = { cascade, estimate };
  }
  return best;
}

/**
 * The in-sample optimum: over every set of ≤ `maxActive` caches and every way of sharing the
 * disagreements the target allows on these very records (no statistical margin), the cascade with
 * the lowest mean cost. Thresholds fitted to the data they are judged on are optimistic, and no
 * request is audited: an upper bound on what these heads can save, not an operating point.
 */
export function cascadeCeiling(records: AuditViews, trained: number[], cost: CascadeCostModel, o: { target: number; maxActive: number }): { cascade: Cascade; estimate: CascadeEstimate } {
  const allowed = Math.floor((1 - o.target) * records.length + 1e-9);
  return cheapest(records, subsets(trained, o.maxActive), cost, (set) => bestAllocation(records, set, allowed, cost));
}

/** The cheapest cascade over candidate cache sets (no cache at all if none pays for itself); `fit` calibrates one set, undefined = unusable. */
function cheapest(records: AuditViews, sets: Iterable<number[]>, cost: CascadeCostModel, fit: (set: number[]) => { cascade: Cascade; estimate: CascadeEstimate } | undefined): { cascade: Cascade; estimate: CascadeEstimate } {
  let best = { cascade: NO_CACHE, estimate: simulateCascade(records, NO_CACHE, cost) };
  for (const set of sets) {
    if (!set.length) continue;
    const r = fit(set);
    if (r && r.estimate.meanCost < best.estimate.meanCost - 1e-12) best = r;
  }
  return best;
}

export interface CascadeEstimate {
  /** mean cost per request under the cost model */
  meanCost: number;
  /** share of requests exiting at each enabled cache */
  exitRates: number[];
  /** agreement with the backbone */
  agreement: number;
  /** share of requests that skipped to the end (the cheaper no-exit path) */
  skipRate?: number;
}

/** which stages of a cascade may send a request straight to the end (never the last: it goes there anyway) */
export function skipStages(cascade: Cascade): boolean[] {
  return cascade.caches.map((_, j) => (cascade.skipBelow?.[j] ?? 0) > 0 && j < cascade.caches.length - 1);
}

/** Replays records through a cascade: where each would exit, what it would cost, whether it agrees. */
export function simulateCascade(records: AuditViews, cascade: Cascade, cost: CascadeCostModel): CascadeEstimate {
  const p = prepare(records);
  // cost of a request that exits at cache j (every segment and head up to it), of one that skips
  // to the end from cache j, and of one no cache answers
  const upTo: number[] = [];
  const skipCost: number[] = [];
  let prev = -1;
  let acc = 0;
  for (const c of cascade.caches) {
    acc += cost.segment(prev, c) + cost.head(c);
    upTo.push(acc);
    skipCost.push(acc + cost.segment(c, cost.cuts));
    prev = c;
  }
  const passCost = acc + cost.segment(prev, cost.cuts);
  const skip = cascade.caches.map((_, j) => cascade.skipBelow?.[j] ?? 0);
  const last = cascade.caches.length - 1;
  const exits = cascade.caches.map(() => 0);
  const confs = cascade.caches.map((c) => p.conf[c]!);
  const agrees = cascade.caches.map((c) => p.agree[c]!);
  const thresholds = cascade.thresholds;
  let total = 0;
  let agree = 0;
  let skipped = 0;
  for (let i = 0; i < records.length; i++) {
    let done = false;
    for (let j = 0; j <= last; j++) {
      const conf = confs[j]![i]!;
      if (conf >= thresholds[j]!) {
        exits[j]!++;
        total += upTo[j]!;
        agree += agrees[j]![i]!;
        done = true;
        break;
      }
      if (j < last && conf < skip[j]!) {
        total += skipCost[j]!;
        agree++;
        skipped++;
        done = true;
        break;
      }
    }
    if (!done) {
      total += passCost;
      agree++;
    }
  }
  const n = Math.max(1, records.length);
  return { meanCost: total / n, exitRates: exits.map((e) => e / n), agreement: agree / n, skipRate: skipped / n };
}

/**
 * Sets the skip thresholds of a cascade, cache by cache, to the value that minimises the mean cost
 * on these records (candidates: 0 = never, and quantiles of the confidences of the records that
 * reach the cache and do not exit there). Skipping only turns would-be later exits into backbone
 * answers, so agreement can only rise: the thresholds' guarantee still holds.
 */
export function tuneSkips(records: AuditViews, cascade: Cascade, cost: CascadeCostModel): { cascade: Cascade; estimate: CascadeEstimate } {
  const p = prepare(records);
  let best = { cascade: { ...cascade, skipBelow: cascade.caches.map(() => 0) }, estimate: simulateCascade(records, cascade, cost) };
  for (let j = 0; j < cascade.caches.length - 1; j++) {
    const conf = p.conf[cascade.caches[j]!]!;
    const below = [...conf].filter((x) => x < cascade.thresholds[j]!).sort((a, b) => a - b);
    const candidates = new Set<number>();
    for (let q = 1; q <= 32; q++) candidates.add(below[Math.min(below.length - 1, Math.floor((q / 32) * below.length))] ?? 0);
    for (const s of candidates) {
      const skipBelow = [...best.cascade.skipBelow];
      skipBelow[j] = s;
      const c = { ...cascade, skipBelow };
      const e = simulateCascade(records, c, cost);
      if (e.meanCost < best.estimate.meanCost - 1e-12) best = { cascade: c, estimate: e };
    }
  }
  return best;
}

function* subsets(items: number[], maxSize: number, start = 0, acc: number[] = []): Generator<number[]> {
  yield acc;
  if (acc.length === maxSize) return;
  for (let i = start; i < items.length; i++) yield* subsets(items, maxSize, i + 1, [...acc, items[i]!]);
}

export interface ChoiceOptions {
  target: number;
  mode?: CalibrationMode;
  z?: number;
  maxActive: number;
  /** memory budget for enabled heads, bytes */
  budgetBytes: number;
  headBytes(i: number): number;
  /** also tune the cheaper no-exit path (skip thresholds) for the chosen cascade */
  skips?: boolean;
}

/**
 * Picks the set of caches (and their thresholds) with the lowest expected cost per request on the
 * calibration records, among sets of at most `maxActive` trained caches within the memory budget.
 * Benefit is measured, not assumed: a cache that saves less than it costs is left out.
 */
export function chooseCascade(records: AuditViews, trained: number[], cost: CascadeCostModel, o: ChoiceOptions): { cascade: Cascade; estimate: CascadeEstimate; considered: number } {
  let considered = 0;
  const overall = (o.mode ?? 'overall') === 'overall';
  // the disagreements the target allows on these records, with the Wilson margin; any split of
  // them over the caches keeps the total within the bound
  const allowed = allowedDisagreements(records.length, o.target, o.z ?? DEFAULT_Z);
  const perExit = (set: number[]) => {
    const cascade = calibrateCascade(records, set, o.target, 'per-exit');
    // a cache that never exits only costs
    return cascade.thresholds.some((t) => t === Infinity) ? undefined : { cascade, estimate: simulateCascade(records, cascade, cost) };
  };
  const affordable = [...subsets(trained, o.maxActive)].filter((set) => set.length && set.reduce((b, i) => b + o.headBytes(i), 0) <= o.budgetBytes);
  const best = cheapest(records, affordable, cost, (set) => {
    considered++;
    return overall ? bestAllocation(records, set, allowed, cost) : perExit(set);
  });
  if (!o.skips || best.cascade.caches.length < 2) return { ...best, considered };
  return { ...tuneSkips(records, best.cascade, cost), considered };
}
