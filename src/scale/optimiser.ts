import type { LatencyData } from '../data/latency.js';
import { byAccuracy, firstUnderBudget } from '../nas/evolution.js';
import { nOps } from '../transfer/encoding.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { stackForward, stackParams, trainStack, type Stack, type StackOptions } from './dense.js';
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
    const z = stackForward(this.state.stack, this.inputOf(f, budgetMs));
    const { positions: P, ops: O } = this.state;
    const out = new Float64Array(P * O);
    for (let p = 0; p < P; p++) {
      const row = z.slice(p * O, p * O + O);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      for (let k = 0; k < O; k++) out[p * O + k] = row[k]! - lse;
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

  private score(lp: Float64Array, ops: ArrayLike<number>): number {
    const O = this.state.ops;
    let s = 0;
    for (let p = 0; p < ops.length; p++) s += lp[p * O + ops[p]!]!;
    return s;
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

  /**
   * Best-first enumeration of a product of independent per-position choices: every design's
   * parent is the design with its last non-first-choice position moved one choice back (never a
   * lower score), so popping a max-heap from the all-first-choices design and pushing each popped
   * design's children (a later-or-same position moved one choice on) yields designs in score order,
   * each once.
   */
  private bestFirst(lp: Float64Array, m: number, index: Int32Array): number[] {
    const { positions: P, ops: O } = this.state;
    // per position, ops from most to least probable; a node's ranks are packed as base-O digits
    const rankOps = Array.from({ length: P }, (_, p) => Array.from({ length: O }, (_, k) => k).sort((a, b) => lp[p * O + b]! - lp[p * O + a]!));
    const pow = Array.from({ length: P }, (_, p) => O ** p);
    interface Node { ranks: number; last: number; score: number; arch: number }
    const node = (ranks: number, last: number): Node => {
      let key = 0;
      let score = 0;
      for (let p = 0; p < P; p++) {
        const op = rankOps[p]![Math.floor(ranks / pow[p]!) % O]!;
        key += op * pow[p]!;
        score += lp[p * O + op]!;
      }
      return { ranks, last, score, arch: index[key]! };
    };
    const before = (a: Node, b: Node) => a.score > b.score || (a.score === b.score && a.arch < b.arch);
    const heap: Node[] = [node(0, 0)];
    const out: number[] = [];
    while (out.length < m && heap.length) {
      const top = heap[0]!;
      const tail = heap.pop()!;
      if (heap.length) {
        // sift the tail down from the root
        let i = 0;
        for (;;) {
          const [l, r] = [2 * i + 1, 2 * i + 2];
          let c = i;
          const at = (j: number) => (j === i ? tail : heap[j]!);
          if (l < heap.length && before(heap[l]!, at(c))) c = l;
          if (r < heap.length && before(heap[r]!, at(c))) c = r;
          if (c === i) break;
          heap[i] = heap[c]!;
          i = c;
        }
        heap[i] = tail;
      }
      out.push(top.arch);
      for (let p = top.last; p < P; p++) {
        if (Math.floor(top.ranks / pow[p]!) % O === O - 1) continue;
        const child = node(top.ranks + pow[p]!, p);
        // sift up
        let i = heap.length;
        heap.push(child);
        while (i > 0 && before(child, heap[(i - 1) >> 1]!)) {
          heap[i] = heap[(i - 1) >> 1]!;
          i = (i - 1) >> 1;
        }
        heap[i] = child;
      }
    }
    return out;
  }
}
