import type { LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { compileStack, FoldedStack, stackForward, type CompiledStack, stackParams, trainStack, type Stack, type StackOptions } from './dense.js';
import { fitRidge } from '../regressors/ridge.js';
import { archFeatures, deviceFeatures, meanSd, tableDeviceFeatures, type DeviceFeatures } from './features.js';

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
}

export const DEFAULT_PAIR: PairPredictorOptions = { hidden: 128, layers: 2, steps: 3000, batch: 256, seed: 1, lr: 2e-3, mix: 0 };

export interface PairPredictorState {
  space: string;
  trainDevices: string[];
  /** architectures whose latencies were used in training (all when undefined) */
  trainArchCount: number;
  target: { mean: number; sd: number };
  scale: { mean: number; sd: number };
  stack: Stack;
}

export class PairPredictor {
  private readonly arch: Float32Array[];
  private compiled?: CompiledStack;
  private constructor(readonly data: LatencyData, readonly state: PairPredictorState) {
    this.arch = archFeatures(data);
  }

  static async train(data: LatencyData, devices: string[], opts: Partial<PairPredictorOptions> & { archs?: number[] } = {}, log?: (s: string) => void): Promise<PairPredictor> {
    const o = { ...DEFAULT_PAIR, ...opts };
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
    const inDim = pp.inputOf(0, feats[0]!).length;
    state.stack = await trainStack({
      sizes: [inDim, ...Array<number>(o.layers).fill(o.hidden), 1],
      steps: o.steps,
      seed: o.seed,
      lr: o.lr,
      loss: 'mse',
      batch: (rng) => {
        const x: number[][] = [];
        const y: number[][] = [];
        const real = Math.round(o.batch * (1 - o.mix));
        for (let i = 0; i < real; i++) {
          const di = rng.int(0, devices.length - 1);
          const a = archs[rng.int(0, archs.length - 1)]!;
          x.push(pp.inputOf(a, feats[di]!));
          y.push([(rel(di, a) - target.mean) / target.sd]);
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
            x.push(pp.inputOf(a, f));
            y.push([(logLat - f.scale - target.mean) / target.sd]);
          }
        }
        return { x, y };
      },
      onStep: log ? (s, l) => s % 1000 === 0 && log(`  pair predictor step ${s}/${o.steps} loss ${l.toFixed(4)}`) : undefined,
    });
    return pp;
  }

  static fromState(data: LatencyData, state: PairPredictorState): PairPredictor {
    if (state.space !== data.space) throw new UserError(`was trained on ${state.space}, not ${data.space}`, 'pair predictor');
    const unknown = state.trainDevices.filter((d) => !data.latency.has(d));
    if (unknown.length) throw new UserError(`names training devices the ${data.space} table lacks: ${unknown.join(', ')}`, 'pair predictor');
    const pp = new PairPredictor(data, state);
    const inDim = pp.arch[0]!.length + data.referenceArchs.length + 1;
    if (state.stack[0]?.in !== inDim || state.stack.at(-1)?.out !== 1) throw new UserError(`its network takes ${state.stack[0]?.in} inputs, ${data.space} needs ${inDim}`, 'pair predictor');
    return pp;
  }

  get params(): number {
    return stackParams(this.state.stack);
  }

  private inputOf(arch: number, dev: DeviceFeatures): number[] {
    const a = this.arch[arch]!;
    const x = new Array<number>(a.length + dev.shape.length + 1);
    for (let i = 0; i < a.length; i++) x[i] = a[i]!;
    for (let i = 0; i < dev.shape.length; i++) x[a.length + i] = dev.shape[i]!;
    x[a.length + dev.shape.length] = (dev.scale - this.state.scale.mean) / this.state.scale.sd;
    return x;
  }

  predictMs(arch: number, dev: DeviceFeatures): number {
    const z = stackForward(this.state.stack, this.inputOf(arch, dev))[0]!;
    return Math.exp(dev.scale + this.state.target.mean + this.state.target.sd * z);
  }

  predictAllMs(dev: DeviceFeatures): Float64Array {
    return Float64Array.from({ length: this.data.ops.length }, (_, a) => this.predictMs(a, dev));
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
  forDevice(refLatMs: readonly number[]): DevicePredictor {
    const f = deviceFeatures(refLatMs);
    const refs = this.data.referenceArchs;
    if (refLatMs.length !== refs.length) throw new UserError(`expected ${refs.length} reference latencies, got ${refLatMs.length}`, 'reference latencies');
    const y = refLatMs.map(Math.log);
    // the device's inputs are the same for every architecture: folded into the first layer once
    const folded = new FoldedStack((this.compiled ??= compileStack(this.state.stack)), [...f.shape, (f.scale - this.state.scale.mean) / this.state.scale.sd], this.arch[0]!.length);
    const netLog = (arch: number) => f.scale + this.state.target.mean + this.state.target.sd * folded.forward(this.arch[arch]!)[0]!;
    const affine = fitRidge(refs.map((a) => [netLog(a)]), y, [1e-3, 1e-1, 1, 10]);
    const base = (arch: number) => affine.predict([netLog(arch)]);
    const basis = this.state.trainDevices.map((d) => this.data.latency.get(d)!);
    const row = (arch: number) => basis.map((b) => Math.log(b[arch]!));
    const residual = fitRidge(refs.map(row), refs.map((a, i) => y[i]! - base(a)), [1, 10, 100, 1000, 1e4]);
    // a device is asked about the same designs again for every budget: remember its answers
    const known = new Map<number, number>();
    const predictMs = (arch: number) => {
      let ms = known.get(arch);
      if (ms === undefined) known.set(arch, (ms = Math.exp(base(arch) + residual.predict(row(arch)))));
      return ms;
    };
    // how far to trust it: the affine step's leave-one-out error (the residual step only lowers it)
    const logSpread = Math.sqrt(affine.loo.reduce((s, p, i) => s + (p - y[i]!) ** 2, 0) / refs.length);
    return { features: f, predictMs, logSpread, predictAllMs: () => Float64Array.from({ length: this.data.ops.length }, (_, a) => predictMs(a)) };
  }
}

export interface DevicePredictor {
  features: DeviceFeatures;
  /** root-mean-square leave-one-out error of log latency over the references: how far to trust it */
  logSpread: number;
  predictMs(arch: number): number;
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
