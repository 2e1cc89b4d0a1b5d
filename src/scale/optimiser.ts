import type { LatencyData } from '../data/latency.js';
import { byAccuracy, firstUnderBudget } from '../nas/evolution.js';
import { nOps } from '../transfer/encoding.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { selectKth } from '../util/stats.js';
import { compiledNet, type FoldedStack, stackParams, trainStack, type Stack, type StackOptions } from './dense.js';
import { deviceFeatures, meanSd, type DeviceFeatures } from './features.js';
import { dirichlet } from './pair.js';

/**
 * The neural optimiser: (device features, latency budget) → a design, in one forward pass. Its
 * output is one softmax per position of the architecture (NB201: an op per edge; FBNet: a block per
 * layer). It is trained to reproduce the best design under the budget on the training devices
 * (exhaustive: the most accurate architecture of the table whose latency meets the budget), and
 * on virtual devices mixed from them, at budgets spread over each device's latency range.
 */
export interface OptimiserOptions extends StackOptions {
  /** virtual devices (geometric mixes of the training devices) added to the real ones */
  virtualDevices: number;
  /** budgets per device, at evenly spaced latency quantiles in [2 %, 98 %] */
  budgets: number;
}

export const DEFAULT_OPTIMISER: OptimiserOptions = { hidden: 128, layers: 2, steps: 3000, batch: 128, seed: 1, lr: 2e-3, virtualDevices: 300, budgets: 40 };

export interface OptimiserState {
  space: string;
  /** what the optimiser maximises, e.g. 'CIFAR-10 test accuracy' */
  objective: string;
  trainDevices: string[];
  positions: number;
  ops: number;
  scale: { mean: number; sd: number };
  budget: { mean: number; sd: number };
  stack: Stack;
}

interface Example {
  x: number[];
  arch: number;
}

export class DesignOptimiser {
  private compiled?: FoldedStack;
  private constructor(readonly data: LatencyData, readonly state: OptimiserState) {}

  static async train(data: LatencyData, devices: string[], objective: { name: string; values: ArrayLike<number> }, opts: Partial<OptimiserOptions> = {}, log?: (s: string) => void): Promise<DesignOptimiser> {
    const o = { ...DEFAULT_OPTIMISER, ...opts };
    if (devices.length < 2) throw new UserError(`needs at least 2 training devices, got ${devices.length}`, 'devices');
    const order = byAccuracy(objective.values);
    const logLat = devices.map((d) => Float64Array.from(data.latency.get(d)!, Math.log));
    const rng = new Rng(o.seed + 3);
    // the training examples: (device, budget) → best design, from real and virtual devices
    const raw: Array<{ f: DeviceFeatures; budgetLog: number; arch: number }> = [];
    const qs = Array.from({ length: o.budgets }, (_, i) => 0.02 + (0.96 * i) / Math.max(1, o.budgets - 1));
    for (let v = 0; v < devices.length + o.virtualDevices; v++) {
      const w = v < devices.length ? devices.map((_, i) => (i === v ? 1 : 0)) : dirichlet(rng, devices.length, 0.5);
      const lat = Float64Array.from({ length: data.ops.length }, (_, a) => Math.exp(w.reduce((s, wi, di) => s + wi * logLat[di]![a]!, 0)));
      const f = deviceFeatures(data.referenceArchs.map((a) => lat[a]!));
      const sortedLat = Float64Array.from(lat).sort();
      for (const q of qs) {
        const budget = sortedLat[Math.floor(q * (sortedLat.length - 1))]!;
        const arch = firstUnderBudget(lat, order, budget);
        if (arch >= 0) raw.push({ f, budgetLog: Math.log(budget), arch });
      }
    }
    const scale = meanSd(raw.map((r) => r.f.scale));
    const budget = meanSd(raw.map((r) => r.budgetLog - r.f.scale));
    const state: OptimiserState = { space: data.space, objective: objective.name, trainDevices: devices, positions: data.ops[0]!.length, ops: nOps(data), scale, budget, stack: [] };
    const opt = new DesignOptimiser(data, state);
    const examples: Example[] = raw.map((r) => ({ x: opt.inputOf(r.f, Math.exp(r.budgetLog)), arch: r.arch }));
    log?.(`  optimiser: ${examples.length} (device, budget) → best-design examples from ${devices.length} devices + ${o.virtualDevices} virtual`);
    const P = state.positions;
    const O = state.ops;
    state.stack = await trainStack({
      sizes: [examples[0]!.x.length, ...Array<number>(o.layers).fill(o.hidden), P * O],
      steps: o.steps,
      seed: o.seed,
      lr: o.lr,
      loss: { softmaxGroupSize: O },
      batch: (r) => {
        const x: number[][] = [];
        const y: number[][] = [];
        for (let i = 0; i < o.batch; i++) {
          const e = examples[r.int(0, examples.length - 1)]!;
          x.push(e.x);
          const t = new Array<number>(P * O).fill(0);
          data.ops[e.arch]!.forEach((op, p) => (t[p * O + op] = 1));
          y.push(t);
        }
        return { x, y };
      },
      onStep: log ? (s, l) => s % 1000 === 0 && log(`  optimiser step ${s}/${o.steps} loss ${l.toFixed(4)}`) : undefined,
    });
    return opt;
  }

  static fromState(data: LatencyData, state: OptimiserState): DesignOptimiser {
    if (state.space !== data.space) throw new UserError(`was trained on ${state.space}, not ${data.space}`, 'optimiser');
    const [inDim, outDim] = [data.referenceArchs.length + 2, data.ops[0]!.length * nOps(data)];
    if (state.stack[0]?.in !== inDim || state.stack.at(-1)?.out !== outDim || state.positions * state.ops !== outDim) {
      throw new UserError(`its network maps ${state.stack[0]?.in} → ${state.stack.at(-1)?.out}, ${data.space} needs ${inDim} → ${outDim}`, 'optimiser');
    }
    return new DesignOptimiser(data, state);
  }

  get params(): number {
    return stackParams(this.state.stack);
  }

  private inputOf(f: DeviceFeatures, budgetMs: number): number[] {
    return [...f.shape, (f.scale - this.state.scale.mean) / this.state.scale.sd, (Math.log(budgetMs) - f.scale - this.state.budget.mean) / this.state.budget.sd];
  }

  /** log-probabilities, positions × ops (row-major) */
  logProbs(f: DeviceFeatures, budgetMs: number): Float64Array {
    // compiled once: a plain-array forward pass cost ~30 µs of a design's ~100
    const z = (this.compiled ??= compiledNet(this.state.stack)).forward(this.inputOf(f, budgetMs));
    const { positions: P, ops: O } = this.state;
    const out = new Float64Array(P * O);
    for (let p = 0; p < P; p++) {
      let m = -Infinity;
      for (let k = 0; k < O; k++) m = Math.max(m, z[p * O + k]!);
      let sum = 0;
      for (let k = 0; k < O; k++) sum += Math.exp(z[p * O + k]! - m);
      const lse = m + Math.log(sum);
      for (let k = 0; k < O; k++) out[p * O + k] = z[p * O + k]! - lse;
    }
    return out;
  }

  /**
   * The `m` architectures of the table with the highest log-probability, best first (equal scores:
   * lower index first). The argmax design itself is the first whenever the table holds it (NB201
   * holds every cell; FBNet's table holds 5,000 sampled designs, so the answer is the most probable
   * of those). A table of every design is enumerated best-first (`bestFirst`), ~m·positions steps
   * instead of scoring all rows; a sampled table is scanned.
   */
  candidates(f: DeviceFeatures, budgetMs: number, m: number, how: 'auto' | 'scan' = 'auto'): number[] {
    const lp = this.logProbs(f, budgetMs);
    const index = how === 'auto' ? this.completeIndex() : undefined;
    return index ? this.bestFirst(lp, m, index) : this.scan(lp, m);
  }

  /**
   * The same `m` designs as `candidates`, as a membership test with each design's score, for a
   * caller that visits designs in its own order (design.ts: most accurate first) and would
   * otherwise re-sort the list. On a complete table the m-th best score is found without listing
   * the designs (`threshold`); a tie at it, or a sampled table, falls back to the list.
   */
  candidateSet(f: DeviceFeatures, budgetMs: number, m: number): CandidateSet {
    const lp = this.logProbs(f, budgetMs);
    const index = this.completeIndex();
    const t = index ? this.threshold(lp, m) : this.sampledThreshold(lp, m);
    if (t) return t;
    const list = index ? this.bestFirst(lp, m, index) : this.scan(lp, m);
    const member = new Uint8Array(this.data.ops.length);
    for (const a of list) member[a] = 1;
    const has = (a: number) => member[a] === 1;
    return { size: list.length, has, score: (a) => this.score(lp, this.data.ops[a]!), nextMember: nextMemberBy(has) };
  }

  /**
   * On a sampled table (FBNet: 5,000 of 9^22 designs) the same threshold by selection over every
   * row's score, instead of keeping a sorted top-1,024 list by insertion: ~2 ms less per design.
   */
  private sampledThreshold(lp: Float64Array, m: number): CandidateSet | undefined {
    const all = this.data.ops;
    if (m >= all.length) return undefined;
    const scores = new Array<number>(all.length);
    for (let a = 0; a < all.length; a++) scores[a] = this.score(lp, all[a]!);
    if (!this.sums || this.sums.length < all.length) this.sums = new Float64Array(all.length);
    this.sums.set(scores);
    const t = selectKth(this.sums, all.length - m, all.length);
    let atLeast = 0;
    for (const v of scores) if (v >= t) atLeast++;
    if (atLeast !== m) return undefined;
    const has = (a: number) => scores[a]! >= t;
    return { size: m, has, score: (a) => scores[a]!, nextMember: nextMemberBy(has) };
  }

  private halfOf?: [Int32Array, Int32Array];
  private sums?: Float64Array;
  /**
   * The m designs of a complete table with the highest score as "score ≥ t", or undefined when
   * scores tie at t (then which of the tied designs are in is decided by index, as the list does).
   * Every r × ⌈m/r⌉ corner of the two sorted halves holds at least m pairs at least as good as its
   * last, so the best such corner's last sum is a lower bound on the m-th best sum, and only the
   * pairs at or above it (a staircase of ~1–2 m pairs) are summed for the selection — about half
   * of those with (i + 1)(j + 1) ≤ m, which hold it too (~m·ln(m)), and far fewer than m heap steps.
   */
  private threshold(lp: Float64Array, m: number): CandidateSet | undefined {
    const P = this.state.positions;
    const h = P >> 1;
    const [hA, hB] = (this.halves ??= [this.halfTable(0, h), this.halfTable(h, P)]);
    const partial = (t: HalfTable) => {
      for (let c = 0; c < t.n; c++) {
        let sc = 0;
        for (let q = 0; q < t.len; q++) sc += lp[t.lpIdx[c * t.len + q]!]!;
        t.rawScore[c] = sc;
      }
      // sorted copy, best first
      t.score.set(t.rawScore);
      t.score.sort().reverse();
      return t;
    };
    const A = partial(hA);
    const B = partial(hB);
    if (m >= A.n * B.n) return undefined;
    let lower = -Infinity;
    for (let r = 1; r <= A.n && r <= m; r++) {
      const c = Math.ceil(m / r);
      if (c <= B.n) lower = Math.max(lower, A.score[r - 1]! + B.score[c - 1]!);
    }
    // reused: allocating a typed array this size costs more than the selection
    if (!this.sums || this.sums.length < A.n * B.n) this.sums = new Float64Array(A.n * B.n);
    const sums = this.sums;
    let count = 0;
    for (let i = 0; i < A.n && A.score[i]! + B.score[0]! >= lower; i++) for (let j = 0; j < B.n && A.score[i]! + B.score[j]! >= lower; j++) sums[count++] = A.score[i]! + B.score[j]!;
    // selection, not a sort: a typed array's sort took ~140 µs for ~2,200 such sums, selection ~10 µs
    const t = selectKth(sums, count - m, count);
    // exactly m pairs of the whole table at or above t: no tie to break
    let atLeast = 0;
    for (let i = 0, j = B.n - 1; i < A.n; i++) {
      while (j >= 0 && A.score[i]! + B.score[j]! < t) j--;
      if (j < 0) break;
      atLeast += j + 1;
    }
    if (atLeast !== m) return undefined;
    const [ofA, ofB] = (this.halfOf ??= this.halfIndices(hA, hB));
    // copies: the half tables' buffers are reused by the next call
    const [rawA, rawB] = [A.rawScore.slice(), B.rawScore.slice()];
    const score = (a: number) => rawA[ofA[a]!]! + rawB[ofB[a]!]!;
    return { size: m, has: (a) => score(a) >= t, score, nextMember: (order, from) => firstAtLeast(order, from, rawA, ofA, rawB, ofB, t) };
  }

  /** per design of the table, its partial design's place in each half table */
  private halfIndices(hA: HalfTable, hB: HalfTable): [Int32Array, Int32Array] {
    const O = this.state.ops;
    const [ofA, ofB] = [new Int32Array(this.data.ops.length), new Int32Array(this.data.ops.length)];
    this.data.ops.forEach((ops, a) => {
      ofA[a] = ops.slice(0, hA.len).reduce((k, op, q) => k + op * O ** q, 0);
      ofB[a] = ops.slice(hA.len).reduce((k, op, q) => k + op * O ** q, 0);
    });
    return [ofA, ofB];
  }

  /** a design's log-probability, summed per half of the positions as `bestFirst` does (same rounding) */
  private score(lp: Float64Array, ops: ArrayLike<number>): number {
    const O = this.state.ops;
    const h = ops.length >> 1;
    let [a, b] = [0, 0];
    for (let p = 0; p < h; p++) a += lp[p * O + ops[p]!]!;
    for (let p = h; p < ops.length; p++) b += lp[p * O + ops[p]!]!;
    return a + b;
  }

  private scan(lp: Float64Array, m: number): number[] {
    const all = this.data.ops;
    const scores = new Float64Array(all.length);
    for (let a = 0; a < all.length; a++) scores[a] = this.score(lp, all[a]!);
    const top: number[] = [];
    for (let a = 0; a < scores.length; a++) {
      if (top.length < m || scores[a]! > scores[top[top.length - 1]!]!) {
        let i = Math.min(top.length, m - 1);
        top[i] = a;
        while (i > 0 && scores[top[i - 1]!]! < scores[a]!) {
          top[i] = top[i - 1]!;
          top[--i] = a;
        }
      }
    }
    return top;
  }

  private completeIdx: Int32Array | null | undefined;
  /** design (ops as base-`ops` digits) → row of the table, when the table holds every design; else null */
  private completeIndex(): Int32Array | null {
    if (this.completeIdx !== undefined) return this.completeIdx;
    const { positions: P, ops: O } = this.state;
    this.completeIdx = null;
    if (O ** P !== this.data.ops.length) return null;
    const idx = new Int32Array(O ** P).fill(-1);
    this.data.ops.forEach((ops, a) => (idx[ops.reduce((k, op, p) => k + op * O ** p, 0)] = a));
    if (!idx.includes(-1)) this.completeIdx = idx;
    return this.completeIdx;
  }

  private halves?: [HalfTable, HalfTable];
  /** the partial designs of positions [from, to): their lp indices and table keys, and buffers reused by every call */
  private halfTable(from: number, to: number): HalfTable {
    const O = this.state.ops;
    const len = to - from;
    const n = O ** len;
    const lpIdx = new Int32Array(n * len);
    const rawKey = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      let rest = c;
      for (let q = 0; q < len; q++) {
        const op = rest % O;
        rest = (rest - op) / O;
        lpIdx[c * len + q] = (from + q) * O + op;
        rawKey[c] += op * O ** (from + q);
      }
    }
    return { n, len, lpIdx, rawKey, rawScore: new Float64Array(n), order: new Int32Array(n), score: new Float64Array(n), key: new Int32Array(n) };
  }

  /**
   * The m best designs of a complete table, best first, by meeting in the middle: the positions
   * are split in two halves, each half's O^(P/2) partial designs sorted by partial score, and the
   * best sums of one from each are popped from a max-heap over (i, j) pairs of the two sorted
   * lists — (i, j + 1) follows every (i, j), and (i + 1, 0) follows (i, 0), so each pair enters
   * once, after one at least as good, and the heap holds at most one pair per row i. Each design
   * is a heap step over partial designs of 125 (NB201) instead of up to 6 whole designs pushed
   * node by node (~2× faster); `score` sums the halves the same way, so the scan and this agree.
   */
  private bestFirst(lp: Float64Array, m: number, index: Int32Array): number[] {
    const P = this.state.positions;
    const h = P >> 1;
    const [hA, hB] = (this.halves ??= [this.halfTable(0, h), this.halfTable(h, P)]);
    const half = (t: HalfTable) => {
      const { n, len, lpIdx, rawKey, rawScore, order, score, key } = t;
      for (let c = 0; c < n; c++) {
        let sc = 0;
        for (let q = 0; q < len; q++) sc += lp[lpIdx[c * len + q]!]!;
        rawScore[c] = sc;
        order[c] = c;
      }
      order.sort((a, b) => rawScore[b]! - rawScore[a]! || rawKey[a]! - rawKey[b]!);
      for (let c = 0; c < n; c++) {
        score[c] = rawScore[order[c]!]!;
        key[c] = rawKey[order[c]!]!;
      }
      return t;
    };
    const A = half(hA);
    const B = half(hB);
    // the heap: pair id (i·|B| + j), its score and its design, in parallel arrays; it holds at
    // most one pair per entry of A, so it stays small
    const cap = A.n + 1;
    const hId = new Int32Array(cap);
    const hScore = new Float64Array(cap);
    const hArch = new Int32Array(cap);
    let size = 0;
    const scoreOf = (id: number) => A.score[Math.floor(id / B.n)]! + B.score[id % B.n]!;
    const archOf = (id: number) => index[A.key[Math.floor(id / B.n)]! + B.key[id % B.n]!]!;
    const put = (i: number, id: number, sc: number, ar: number) => {
      hId[i] = id;
      hScore[i] = sc;
      hArch[i] = ar;
    };
    const siftUp = (i: number, id: number) => {
      const sc = scoreOf(id);
      const ar = archOf(id);
      while (i > 0) {
        const up = (i - 1) >> 1;
        if (!(sc > hScore[up]! || (sc === hScore[up] && ar < hArch[up]!))) break;
        put(i, hId[up]!, hScore[up]!, hArch[up]!);
        i = up;
      }
      put(i, id, sc, ar);
    };
    /** places `id` at the root and sifts it down */
    const siftDown = (id: number) => {
      const sc = scoreOf(id);
      const ar = archOf(id);
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= size) break;
        const r = c + 1;
        if (r < size && (hScore[r]! > hScore[c]! || (hScore[r] === hScore[c] && hArch[r]! < hArch[c]!))) c = r;
        if (!(hScore[c]! > sc || (hScore[c] === sc && hArch[c]! < ar))) break;
        put(i, hId[c]!, hScore[c]!, hArch[c]!);
        i = c;
      }
      put(i, id, sc, ar);
    };
    siftUp(size++, 0);
    const out: number[] = [];
    while (out.length < m && size) {
      const top = hId[0]!;
      out.push(hArch[0]!);
      const j = top % B.n;
      // the popped pair's successor in its row replaces it; a finished row's place goes to the last entry
      if (j + 1 < B.n) siftDown(top + 1);
      else if (--size) siftDown(hId[size]!);
      if (j === 0 && top + B.n < A.n * B.n) siftUp(size++, top + B.n);
    }
    return out;
  }
}

/** the optimiser's `size` most probable designs: membership and the score that ranks them */
export interface CandidateSet {
  size: number;
  has(arch: number): boolean;
  /** log-probability (higher: more probable) */
  score(arch: number): number;
  /** the first place k ≥ from of `order` whose design is a member (order.length: none): the walk's `has` loop */
  nextMember(order: Int32Array, from: number): number;
}

/** `nextMember` by asking `has` design by design (the sets without an inlined form) */
export const nextMemberBy = (has: (arch: number) => boolean) => (order: Int32Array, from: number): number => {
  for (let k = from; k < order.length; k++) if (has(order[k]!)) return k;
  return order.length;
};

/**
 * The first place k ≥ from of `order` whose design scores at least t (order.length: none), its score
 * being the sum of its two halves' partial scores: `has` inlined for the walk over thousands of
 * designs, as a function of its arguments rather than a closure over them (see rowDot in pair.ts).
 */
function firstAtLeast(order: Int32Array, from: number, rawA: Float64Array, ofA: Int32Array, rawB: Float64Array, ofB: Int32Array, t: number): number {
  for (let k = from; k < order.length; k++) {
    const a = order[k]!;
    if (rawA[ofA[a]!]! + rawB[ofB[a]!]! >= t) return k;
  }
  return order.length;
}

/** one half of the positions for `bestFirst`: every partial design, sorted by score per call */
interface HalfTable {
  n: number;
  len: number;
  /** per partial design, `len` indices into the log-probabilities (position · ops + op) */
  lpIdx: Int32Array;
  /** per partial design, its part of the table key (op · ops^position summed) */
  rawKey: Int32Array;
  rawScore: Float64Array;
  order: Int32Array;
  /** filled per call: partial scores best first, and their keys */
  score: Float64Array;
  key: Int32Array;
}
