import type { LatencyData, SearchSpace } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { compiledNet, compileStack, FoldedStack, type CompiledStack, stackParams, trainStack, trainTowers, type Stack, type StackOptions } from './dense.js';
import { fitRidge, nonNegativeRelativeFitter } from '../regressors/ridge.js';
import { archFeatures, deviceFeatures, meanSd, opCounts, tableDeviceFeatures, type DeviceFeatures } from './features.js';
import { findDesignObjective } from './objective.js';

/**
 * One latency predictor for every (architecture, device) pair: an MLP over the architecture's
 * encoding concatenated with the device's features (its reference-architecture latencies, see
 * features.ts). It predicts log latency relative to the device's reference mean, so a device faster
 * or slower than any seen in training costs nothing to extrapolate; the rest — which ops a device
 * favours — is learned across the training devices. A new device needs its 10 reference
 * measurements and no training.
 */
export interface PairPredictorOptions extends StackOptions {
  /**
   * share of each minibatch drawn from virtual devices: a random geometric mix of the training
   * devices (log latencies and reference features mixed with the same Dirichlet weights), so the
   * network sees more than a handful of device-feature vectors. Off: on the HELP validation
   * devices 0.5 gave Spearman 0.974/0.975/0.984/0.937 vs 0.975/0.976/0.988/0.943 without.
   */
  mix: number;
  /**
   * 'mlp': one network over the concatenated inputs. 'factored': an architecture tower and a
   * device tower, each to `rank` + 1 outputs, combined as u·v over the first `rank` plus each
   * tower's last output (an architecture term and a device term) — the architecture side is
   * computed once per space, so an answer for a calibrated device costs `rank` multiply-adds.
   */
  form: 'mlp' | 'factored';
  rank: number;
  /**
   * factored form: this many tower pairs, trained alike from different seeds, whose answers are
   * averaged (in log latency) before the one calibration to a device — an answer stays one dot
   * product, `members` × (rank + 1) + training devices long. A single predictor's designs depend a
   * lot on its seed (NB201 validation regret 0.52 vs 0.77 points for seeds 1 and 2, one-off study);
   * two members lowered the validation regret in bench:scale's session-16 trial (0.41 → 0.33) but not
   * the test devices', at twice the calibration time (reports/scale-trial-s16.md): not the default.
   */
  members: number;
}

export const DEFAULT_PAIR: PairPredictorOptions = { hidden: 128, layers: 2, steps: 3000, batch: 256, seed: 1, lr: 2e-3, mix: 0, form: 'factored', rank: 16, members: 1 };

/**
 * The form per space, chosen on validation data (bench:scale, session 14). NB201: holding out each
 * HELP training device in turn (1,500 steps, a one-off study quoted in reports/scale.md section 3)
 * the factored form ranked slightly worse than the MLP (mean ρ 0.907 vs 0.923) but designed as well
 * (regret at z = 1: 0.72 vs 0.86 points, budgets broken 0 vs 1 of 27), at ~0.1 µs an answer
 * instead of ~9 µs. FBNet (22 positions, 5,000 tabulated designs): with the factored form no
 * decision rule broke ≤ 5 % of the validation devices' budgets (at best 7 %), with the MLP 4 %.
 */
export const DEFAULT_PAIR_FORM: Record<SearchSpace, PairPredictorOptions['form']> = { nb201: 'factored', fbnet: 'mlp' };

/**
 * Whether calibrating to a device blends in an additive cost model in milliseconds (see
 * forDevice), and over which features, per space. Chosen on the validation devices and each
 * training device judged by a predictor trained without it (session 19).
 * - NB201, 'op-counts' (a constant plus a cost per op times how many of the 6 edges use it: every
 *   cell of a network is the same): mean Spearman 0.925 → 0.952, ±10 % 70 → 77 %, design regret
 *   at each calibration's best rule 0.53 → 0.35 points over 13 devices, 39 budgets (the additive
 *   model alone: 0.949, 75 %, 0.33; over the training devices' latencies instead: 0.44); fitted
 *   since session 34 with op costs ≥ 0 in relative error (fitOpCosts): 0.956, 78.6 %, 0.34.
 * - FBNet, 'training-devices' (a ridge over the training devices' latencies in ms): its layers
 *   differ in width and resolution, so an additive model needs a cost per (layer, block) — 176
 *   numbers that 10 references cannot fit — but the training devices' tables are additive in
 *   them, and so is any mix of them. Mean Spearman 0.893 → 0.912, ±10 % 90.1 → 91.2 %, design
 *   regret 3.13 → 2.57 zero-cost-proxy units over 24 devices, 72 budgets; per-block counts: 3.19.
 */
export const ADDITIVE_CALIBRATION: Record<SearchSpace, 'op-counts' | 'training-devices' | false> = { nb201: 'op-counts', fbnet: 'training-devices' };
const ADDITIVE_LAMBDAS = [1e-3, 1e-2, 0.1, 1, 10, 100, 1000];

export interface PairPredictorState {
  space: string;
  trainDevices: string[];
  /** architectures whose latencies were used in training (all when undefined) */
  trainArchCount: number;
  target: { mean: number; sd: number };
  scale: { mean: number; sd: number };
  /** the 'mlp' form's network (empty for 'factored') */
  stack: Stack;
  /** the 'factored' form's towers */
  towers?: { rank: number; arch: Stack; device: Stack };
  /** further tower pairs of the same rank (PairPredictorOptions.members), averaged with the first */
  moreTowers?: Array<{ arch: Stack; device: Stack }>;
}

export class PairPredictor {
  private readonly arch: Float32Array[];
  private compiled?: CompiledStack;
  private constructor(readonly data: LatencyData, readonly state: PairPredictorState) {
    this.arch = archFeatures(data);
  }

  static async train(data: LatencyData, devices: string[], opts: Partial<PairPredictorOptions> & { archs?: number[] } = {}, log?: (s: string) => void): Promise<PairPredictor> {
    const o = { ...DEFAULT_PAIR, ...opts, form: opts.form ?? DEFAULT_PAIR_FORM[data.space] };
    if (devices.length < 2) throw new UserError(`needs at least 2 training devices, got ${devices.length}`, 'devices');
    const archs = opts.archs ?? [...data.ops.keys()];
    const feats = devices.map((d) => tableDeviceFeatures(data, d));
    const lat = devices.map((d) => data.latency.get(d)!);
    const rel = (di: number, a: number) => Math.log(lat[di]![a]!) - feats[di]!.scale;
    const sample = new Rng(o.seed + 7);
    const probe = Array.from({ length: 5000 }, () => rel(sample.int(0, devices.length - 1), archs[sample.int(0, archs.length - 1)]!));
    const target = meanSd(probe);
    const scale = meanSd(feats.map((f) => f.scale));
    const state: PairPredictorState = { space: data.space, trainDevices: devices, trainArchCount: archs.length, target, scale, stack: [] };
    const unknown = state.trainDevices.filter((d) => !data.latency.has(d));
    if (unknown.length) throw new UserError(`names training devices the ${data.space} table lacks: ${unknown.join(', ')}`, 'pair predictor');
    const pp = new PairPredictor(data, state);
    // a minibatch as (architecture, device features, standardised target) rows
    const rows = (rng: Rng) => {
      const out: Array<{ a: number; f: DeviceFeatures; y: number }> = [];
      const real = Math.round(o.batch * (1 - o.mix));
      for (let i = 0; i < real; i++) {
        const di = rng.int(0, devices.length - 1);
        const a = archs[rng.int(0, archs.length - 1)]!;
        out.push({ a, f: feats[di]!, y: (rel(di, a) - target.mean) / target.sd });
      }
      // virtual devices, 32 rows each
      for (let i = real; i < o.batch; i += 32) {
        const w = dirichlet(rng, devices.length, 0.5);
        const f: DeviceFeatures = {
          shape: feats[0]!.shape.map((_, j) => w.reduce((s, wi, di) => s + wi * feats[di]!.shape[j]!, 0)),
          scale: w.reduce((s, wi, di) => s + wi * feats[di]!.scale, 0),
        };
        for (let r = i; r < Math.min(o.batch, i + 32); r++) {
          const a = archs[rng.int(0, archs.length - 1)]!;
          const logLat = w.reduce((s, wi, di) => s + wi * Math.log(lat[di]![a]!), 0);
          out.push({ a, f, y: (logLat - f.scale - target.mean) / target.sd });
        }
      }
      return out;
    };
    const onStep = log ? (s: number, l: number) => s % 1000 === 0 && log(`  pair predictor step ${s}/${o.steps} loss ${l.toFixed(4)}`) : undefined;
    const hidden = Array<number>(o.layers).fill(o.hidden);
    if (o.form === 'mlp') {
      state.stack = await trainStack({
        sizes: [pp.inputOf(0, feats[0]!).length, ...hidden, 1],
        steps: o.steps,
        seed: o.seed,
        lr: o.lr,
        loss: 'mse',
        batch: (rng) => {
          const b = rows(rng);
          return { x: b.map((r) => pp.inputOf(r.a, r.f)), y: b.map((r) => [r.y]) };
        },
        onStep,
      });
      return pp;
    }
    const r = o.rank;
    if (!(Number.isInteger(o.members) && o.members >= 1)) throw new UserError(`members must be a whole number >= 1, got ${o.members}`, 'pair predictor');
    const members: Array<{ arch: Stack; device: Stack }> = [];
    for (let k = 0; k < o.members; k++) {
      const [arch, device] = await trainTowers({
        towers: [
          [pp.arch[0]!.length, ...hidden, r + 1],
          [pp.deviceInput(feats[0]!).length, ...hidden, r + 1],
        ],
        steps: o.steps,
        seed: o.seed + 1000 * k,
        lr: o.lr,
        batch: (rng) => {
          const b = rows(rng);
          return { x: [b.map((x) => Array.from(pp.arch[x.a]!)), b.map((x) => pp.deviceInput(x.f))], y: b.map((x) => [x.y]) };
        },
        loss: (tf, [u, v], y) => {
          const n = u!.shape[0];
          const pred = tf.add(tf.sum(tf.mul(tf.slice(u!, [0, 0], [n, r]), tf.slice(v!, [0, 0], [n, r])), 1, true), tf.add(tf.slice(u!, [0, r], [n, 1]), tf.slice(v!, [0, r], [n, 1])));
          return tf.mean(tf.square(tf.sub(pred, y)));
        },
        onStep,
      });
      members.push({ arch: arch!, device: device! });
    }
    state.towers = { rank: r, ...members[0]! };
    if (members.length > 1) state.moreTowers = members.slice(1);
    return pp;
  }

  static fromState(data: LatencyData, state: PairPredictorState): PairPredictor {
    if (state.space !== data.space) throw new UserError(`was trained on ${state.space}, not ${data.space}`, 'pair predictor');
    const unknown = state.trainDevices.filter((d) => !data.latency.has(d));
    if (unknown.length) throw new UserError(`names training devices the ${data.space} table lacks: ${unknown.join(', ')}`, 'pair predictor');
    const pp = new PairPredictor(data, state);
    const [archDim, devDim] = [pp.arch[0]!.length, data.referenceArchs.length + 1];
    const t = state.towers;
    if (t) {
      const ok = (st: Stack, inDim: number) => st[0]?.in === inDim && st.at(-1)?.out === t.rank + 1;
      for (const m of state.moreTowers ?? []) if (!ok(m.arch, archDim) || !ok(m.device, devDim)) throw new UserError(`a further tower pair (moreTowers) does not match the first's rank ${t.rank} and ${data.space}'s ${archDim} and ${devDim} inputs`, 'pair predictor');
      if (!(t.rank >= 1) || !ok(t.arch, archDim) || !ok(t.device, devDim)) throw new UserError(`its towers map ${t.arch[0]?.in} and ${t.device[0]?.in} inputs to ${t.arch.at(-1)?.out} and ${t.device.at(-1)?.out}, ${data.space} needs ${archDim} and ${devDim} to rank + 1 = ${t.rank + 1}`, 'pair predictor');
    } else if (state.stack[0]?.in !== archDim + devDim || state.stack.at(-1)?.out !== 1) throw new UserError(`its network takes ${state.stack[0]?.in} inputs, ${data.space} needs ${archDim + devDim}`, 'pair predictor');
    return pp;
  }

  get params(): number {
    const t = this.state.towers;
    return t ? this.members().reduce((n, m) => n + stackParams(m.arch) + stackParams(m.device), 0) : stackParams(this.state.stack);
  }

  /** the device's inputs: its reference shape and standardised scale */
  private deviceInput(dev: DeviceFeatures): number[] {
    return [...dev.shape, (dev.scale - this.state.scale.mean) / this.state.scale.sd];
  }

  private inputOf(arch: number, dev: DeviceFeatures): number[] {
    return [...this.arch[arch]!, ...this.deviceInput(dev)];
  }

  /** the network's answer before any calibration to the device's references */
  predictMs(arch: number, dev: DeviceFeatures): number {
    return Math.exp(dev.scale + this.state.target.mean + this.state.target.sd * this.deviceNet(dev).net(arch));
  }

  /** the factored form's tower pairs (PairPredictorOptions.members) */
  private members(): Array<{ arch: Stack; device: Stack }> {
    const t = this.state.towers!;
    return [t, ...(this.state.moreTowers ?? [])];
  }

  /**
   * factored form, per architecture: each member's architecture tower outputs (rank + 1 each),
   * then the training devices' log latencies
   */
  private archRows?: Float64Array;
  private deviceTowers?: FoldedStack[];
  /** log latencies of the training devices, the calibration's second step's features */
  private logBasis?: Float64Array[];

  private rows(): { rows: Float64Array; stride: number; slot: Int32Array } {
    const r1 = this.state.towers!.rank + 1;
    const members = this.members();
    const logBasis = this.basis();
    const stride = members.length * r1 + logBasis.length;
    const slot = this.rowSlots();
    if (!this.archRows) {
      const rows = new Float64Array(this.arch.length * stride);
      members.forEach((m, k) => {
        const tower = compiledNet(m.arch);
        this.arch.forEach((x, a) => rows.set(tower.forward(x), slot[a]! * stride + k * r1));
      });
      this.arch.forEach((_, a) => logBasis.forEach((b, d) => (rows[slot[a]! * stride + members.length * r1 + d] = b[a]!)));
      this.archRows = rows;
    }
    return { rows: this.archRows, stride, slot };
  }

  private rowSlot?: Int32Array;
  /**
   * Per architecture, the place of its row in the per-architecture tables (`archRows`, the additive
   * features): the design objective's order, best first. design.ts asks about candidates walking
   * the table most accurate first, so a budget's questions fall in the first few thousand rows (a
   * few hundred KB that stay in cache) instead of rows scattered over the whole table (3.3 MB on
   * NB201). Answers are the same; an answer about a random design of the whole table took ~85 ns
   * instead of 160–310 (scripts/scale-answer-time.mjs; about consecutive designs, which a design
   * never asks in that order, ~80 instead of ~57). A table without an objective keeps the
   * architectures' order.
   */
  private rowSlots(): Int32Array {
    if (!this.rowSlot) {
      const n = this.data.ops.length;
      const v = findDesignObjective(this.data)?.values;
      const order = Int32Array.from({ length: n }, (_, a) => a);
      if (v) order.sort((a, b) => v[b]! - v[a]! || a - b);
      this.rowSlot = new Int32Array(n);
      order.forEach((a, k) => (this.rowSlot![a] = k));
    }
    return this.rowSlot;
  }

  private basis(): Float64Array[] {
    return (this.logBasis ??= this.state.trainDevices.map((d) => Float64Array.from(this.data.latency.get(d)!, Math.log)));
  }

  /**
   * The network's standardised answer for every architecture on one device. 'mlp': the device's
   * inputs are the same for every architecture, folded into the first layer once (FoldedStack).
   * 'factored': the architecture tower's outputs for the whole space are computed once per
   * predictor (rank + 1 numbers per architecture), so an answer is one dot product with the device
   * tower's outputs (`tower`).
   */
  private deviceNet(dev: DeviceFeatures): { net: (arch: number) => number; towers?: Float64Array[] } {
    const t = this.state.towers;
    if (!t) {
      const folded = new FoldedStack((this.compiled ??= compileStack(this.state.stack)), this.deviceInput(dev), this.arch[0]!.length);
      return { net: (arch) => folded.forward(this.arch[arch]!)[0]! };
    }
    const { rows, stride, slot } = this.rows();
    const input = this.deviceInput(dev);
    const towers = (this.deviceTowers ??= this.members().map((m) => compiledNet(m.device))).map((tw) => Float64Array.from(tw.forward(input)));
    const r = t.rank;
    // the members' answers averaged: u_k·v_k over the first rank, plus each tower's last output
    const net = (arch: number) => {
      let z = 0;
      towers.forEach((v, k) => {
        const o = slot[arch]! * stride + k * (r + 1);
        z += rows[o + r]! + v[r]!;
        for (let i = 0; i < r; i++) z += rows[o + i]! * v[i]!;
      });
      return z / towers.length;
    };
    return { net, towers };
  }

  /**
   * The predictor for one device described by its measured reference latencies (ms, in the order
   * of `data.referenceArchs`), calibrated on them in two steps: an affine map of log latency, then
   * a ridge on what is left over the training devices' measured log latencies (λ by leave-one-out,
   * so a device the network already predicts well keeps its prediction). Chosen on validation
   * data: on the HELP validation devices the affine map beat a residual ridge over the op encoding
   * (±10 % share 63–98 % vs 44–54 %) and the training-device step changed nothing; holding out each
   * NB201 training device in turn (a one-off study, 1,500 steps) it lifted mean Spearman 0.901 →
   * 0.913 and never lowered one (1080ti_256 0.64 → 0.70, samsung_s7 0.87 → 0.91).
   */
  forDevice(refLatMs: readonly number[], opts: { additive?: boolean } = {}): DevicePredictor {
    const f = deviceFeatures(refLatMs);
    const refs = this.data.referenceArchs;
    if (refLatMs.length !== refs.length) throw new UserError(`expected ${refs.length} reference latencies, got ${refLatMs.length}`, 'reference latencies');
    const y = refLatMs.map(Math.log);
    const { net, towers } = this.deviceNet(f);
    const netLog = (arch: number) => f.scale + this.state.target.mean + this.state.target.sd * net(arch);
    const affine = fitRidge(refs.map((a) => [netLog(a)]), y, [1e-3, 1e-1, 1, 10]);
    const base = (arch: number) => affine.predict([netLog(arch)]);
    const logBasis = this.basis();
    const row = (arch: number) => logBasis.map((b) => b[arch]!);
    const residual = fitRidge(refs.map(row), refs.map((a, i) => y[i]! - base(a)), [1, 10, 100, 1000, 1e4]);
    // the two steps as one linear map of (network answer, training devices' log latencies)
    const [a0, a1] = [affine.raw.intercept, affine.raw.weights[0]!];
    const rw = Float64Array.from(residual.raw.weights);
    const c0 = a0 + residual.raw.intercept + a1 * (f.scale + this.state.target.mean);
    const c1 = a1 * this.state.target.sd;
    let predictLogMs: (arch: number) => number;
    if (towers) {
      // factored: the whole calibrated answer is one dot product of the architecture's row
      // (each member's tower outputs, training devices' log latencies) with this device's coefficients
      const { rows, stride, slot } = this.rows();
      const r = this.state.towers!.rank;
      const K = towers.length;
      const coef = new Float64Array(stride);
      let c = c0;
      towers.forEach((v, k) => {
        for (let i = 0; i < r; i++) coef[k * (r + 1) + i] = (c1 * v[i]!) / K;
        coef[k * (r + 1) + r] = c1 / K;
        c += (c1 * v[r]!) / K;
      });
      coef.set(rw, K * (r + 1));
      const intercept = c;
      predictLogMs = (arch) => rowDot(intercept, coef, rows, slot[arch]! * stride);
    } else {
      // the MLP's answer costs ~9 µs and a device is asked about the same designs again for
      // every budget: remember them (NaN: not asked yet; a typed array: ~5× cheaper per answer
      // than a Map, 125 KB a device on NB201)
      const known = new Float64Array(this.arch.length).fill(NaN);
      predictLogMs = (arch) => {
        let v = known[arch]!;
        if (v !== v) {
          v = c0 + c1 * net(arch);
          for (let d = 0; d < rw.length; d++) v += rw[d]! * logBasis[d]![arch]!;
          known[arch] = v;
        }
        return v;
      };
    }
    const predictMs = (arch: number) => Math.exp(predictLogMs(arch));
    // how far to trust it: the affine step's leave-one-out error (the residual step only lowers it)
    const logSpread = Math.sqrt(affine.loo.reduce((s, p, i) => s + (p - y[i]!) ** 2, 0) / refs.length);
    const kind = ADDITIVE_CALIBRATION[this.data.space];
    if (opts.additive === false || !kind) return { features: f, predictMs, predictLogMs, logSpread, additiveWeight: 0, predictAllMs: () => this.everyArch(predictMs) };
    return this.blendAdditive(refLatMs, predictLogMs, logSpread, f, this.additiveFeatures(kind), kind);
  }

  private everyArch(predictMs: (arch: number) => number): Float64Array {
    return Float64Array.from({ length: this.data.ops.length }, (_, a) => predictMs(a));
  }

  /** the additive model's features (ADDITIVE_CALIBRATION), `width` per architecture at its row slot, once per predictor */
  private additive?: AdditiveFeatures;
  private additiveFeatures(kind: 'op-counts' | 'training-devices'): AdditiveFeatures {
    if (!this.additive) {
      const lat = this.state.trainDevices.map((d) => this.data.latency.get(d)!);
      const perArch = kind === 'op-counts' ? opCounts(this.data) : this.data.ops.map((_, a) => Float64Array.from(lat, (l) => l[a]!));
      const [slot, width] = [this.rowSlots(), perArch[0]!.length];
      const values = new Float64Array(perArch.length * width);
      perArch.forEach((x, a) => values.set(x, slot[a]! * width));
      this.additive = { values, width, slot };
    }
    return this.additive;
  }

  /**
   * The second opinion: an additive cost model in milliseconds — a constant plus a cost per op
   * times how many positions use it, or a mix of the training devices' latencies — fitted by
   * ridge on the references (λ by leave-one-out). Many devices add up op costs (accelerator
   * simulators, GPUs at large batch) and on them it is near-exact where the network, which knows
   * the device only through the training devices, is not; on others (phones) it is poor. Blended with the network's answer in log latency, each
   * weighted by the inverse square of its leave-one-out error over the references; the spread
   * reported is the smaller of the two.
   */
  private blendAdditive(refLatMs: readonly number[], networkLogMs: (arch: number) => number, logSpread: number, f: DeviceFeatures, features: AdditiveFeatures, kind: 'op-counts' | 'training-devices'): DevicePredictor {
    const refs = this.data.referenceArchs;
    const { values, width, slot } = features;
    const rows = refs.map((a) => Array.from(values.subarray(slot[a]! * width, (slot[a]! + 1) * width)));
    const fit = kind === 'op-counts' ? fitOpCosts(rows, refLatMs) : fitRidge(rows, [...refLatMs], ADDITIVE_LAMBDAS);
    // an extrapolated sum can fall to zero or below: floor it well under the fastest reference
    const floor = 0.1 * Math.min(...refLatMs);
    const msLoo = Math.sqrt(fit.loo.reduce((s, p, i) => s + Math.log(Math.max(p, floor) / refLatMs[i]!) ** 2, 0) / refs.length);
    const w = logSpread ** 2 / (logSpread ** 2 + msLoo ** 2);
    const intercept = fit.raw.intercept;
    const weights = Float64Array.from(fit.raw.weights);
    const predictLogMs = (arch: number) => (1 - w) * networkLogMs(arch) + w * Math.log(Math.max(rowDot(intercept, weights, values, slot[arch]! * width), floor));
    const predictMs = (arch: number) => Math.exp(predictLogMs(arch));
    return { features: f, predictMs, predictLogMs, logSpread: Math.min(logSpread, msLoo), additiveWeight: w, predictAllMs: () => this.everyArch(predictMs) };
  }
}

/**
 * c + coef · rows[o, o + coef.length): a calibrated answer from an architecture's row. A function
 * of its arguments, not a loop inside each device's closure: V8 optimised that loop unevenly,
 * depending on what ran before (57–150 ns an answer in session 53's microbenchmarks, this form
 * 70–85 ns; reports/scale-history.md).
 */
function rowDot(c: number, coef: Float64Array, rows: Float64Array, o: number): number {
  let v = c;
  for (let k = 0; k < coef.length; k++) v += coef[k]! * rows[o + k]!;
  return v;
}

interface AdditiveFeatures {
  values: Float64Array;
  width: number;
  /** PairPredictor.rowSlots */
  slot: Int32Array;
}

const OP_COST_LAMBDAS = [1e-4, 1e-3, 1e-2, 0.1, 1];

/**
 * The op-count cost model fitted on a device's references: a constant plus a cost per op (≥ 0)
 * times its count, minimising the *relative* error (fitNonNegativeRelative), λ by leave-one-out
 * log error. Against a plain ridge in ms — which lets the slowest references dominate and a cost
 * come out negative — on the validation protocol of bench:scale section 4 (13 devices, 39
 * budgets; `VARIANTS=new node scripts/scale-calibration-study.mjs`, session 34): mean Spearman
 * 0.952 → 0.956, ±10 % 76.8 → 78.6 % (samsung_s7 32 → 44 %, samsung_a50 82 → 91 %), the best
 * decision rule's regret 0.35 → 0.34 points, budgets broken 1 → 0 of 39; NB201 test regret 0.34 →
 * 0.303 (reports/scale-history.md, session 34).
 */
export function fitOpCosts(rows: number[][], y: readonly number[]): { loo: number[]; raw: { intercept: number; weights: number[] } } {
  const X = rows.map((r) => [1, ...r]);
  const fit = nonNegativeRelativeFitter(X, y, new Set([0]));
  const floor = 0.1 * Math.min(...y);
  let best: { err: number; lambda: number; loo: number[] } | undefined;
  for (const lambda of OP_COST_LAMBDAS) {
    const loo = X.map((x, i) => {
      const w = fit(lambda, i);
      return x.reduce((s, v, j) => s + v * w[j]!, 0);
    });
    const err = loo.reduce((s, p, i) => s + Math.log(Math.max(p, floor) / y[i]!) ** 2, 0);
    if (!best || err < best.err) best = { err, lambda, loo };
  }
  const w = fit(best!.lambda);
  return { loo: best!.loo, raw: { intercept: w[0]!, weights: w.slice(1) } };
}

export interface DevicePredictor {
  features: DeviceFeatures;
  /** root-mean-square leave-one-out error of log latency over the references: how far to trust it */
  logSpread: number;
  /** the additive cost model's weight in the blend (0: the network's calibrated answer alone) */
  additiveWeight: number;
  predictMs(arch: number): number;
  /** log of predictMs, without the exp and log a caller working in log latency would pay */
  predictLogMs(arch: number): number;
  predictAllMs(): Float64Array;
}

/** Dirichlet(α) weights via normalised Gamma(α) draws (Marsaglia–Tsang, with the α < 1 boost) */
export function dirichlet(rng: Rng, n: number, alpha: number): number[] {
  const gamma = (a: number): number => {
    if (a < 1) return gamma(a + 1) * Math.pow(Math.max(rng.next(), 1e-12), 1 / a);
    const d = a - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const z = rng.normal();
      const v = (1 + c * z) ** 3;
      if (v <= 0) continue;
      if (Math.log(Math.max(rng.next(), 1e-12)) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  const g = Array.from({ length: n }, () => gamma(alpha));
  const sum = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / sum);
}
