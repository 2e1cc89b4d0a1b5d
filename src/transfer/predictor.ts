import type * as tfType from '@tensorflow/tfjs';
import { FBNET_OPS, requireDevice, type LatencyData, type SearchSpace } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { spearman } from '../util/stats.js';
import { analyticCosts, graphOf, type Encoded, type EncodingName } from './encoding.js';
import { encodeAsync } from './gae.js';
import { fitRidge } from '../regressors/ridge.js';
import { ParamStore, Trunk, type TrunkName } from './model.js';

type TF = typeof tfType;

/**
 * Design axis 3, how a device is represented:
 *  - learned: each training device gets a learned vector (the output head is φ·E_d + b_d); a new
 *    device's vector is fitted in closed form (ridge, λ by leave-one-out) from its k samples.
 *  - help:    HELP's hardware embedding — the device's latencies on 10 fixed reference archs —
 *    is an input of the head; a new device is embedded from its measured reference archs, then the
 *    whole network is fine-tuned on its k samples.
 *  - none:    no device input; the network learns the average device and is fine-tuned.
 */
export const DEVICE_REPS = ['learned', 'help', 'none'] as const;
export type DeviceRep = (typeof DEVICE_REPS)[number];

export interface PredictorConfig {
  trunk: TrunkName;
  deviceRep: DeviceRep;
  encoding: EncodingName;
  hidden: number;
  features: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  /** fine-tuning steps on the k target samples (help / none) */
  fineTuneSteps: number;
  /**
   * learned mode: also offer the adaptation analytic columns (log FLOPs, log params; FBNet: depth), for a device
   * unlike every training device; the ridge's leave-one-out λ decides how much they count
   */
  costColumns: boolean;
  /**
   * learned mode: a fallback (proxy device, FLOPs, cost model) replaces the adapted predictor only
   * when its leave-one-out score over the k samples is higher by more than this (Infinity: never).
   * 0 was chosen first in a one-off study on NB201's validation devices (titanx_1/32/256, gold_6240;
   * 5 seeds, k = 5/10/20): mean Spearman at k = 10 0.963 vs 0.930 without the guard, worst seed
   * 0.76 vs 0.46; margins of 0.1 and more behaved like no guard. Re-checked with the R² score and
   * the cost fallbacks on every task's validation devices (margins 0 / 0.1 / 0.2 for proxies):
   * 0 stayed best on FBNet (mean worst seed 0.823 / 0.817 / 0.818) and NB201 (0.917 / 0.812 / 0.812).
   */
  guardMargin: number;
  /**
   * learned mode: when not even the best candidate (the adapted predictor or a fallback) scores a
   * leave-one-out R² of at least this over the k samples, the samples carry no usable ranking
   * (phones measured at 1 ms resolution, a glitched run) and FLOPs answers: it needs no samples.
   * -Infinity: never. 0.3 from a one-off study with the Spearman score (k = 10, 5 seeds, every
   * task, its validation devices: fired on 1 of 460 runs, mean unchanged; from 0.5 up it cost
   * validation accuracy); kept for R² (FBNet validation mean worst seed 0.823 vs 0.819 with the
   * threshold on Spearman). It exists for runs such as fbnet-1 samsung_s7 seed 2, whose 10
   * samples no candidate ranks (best leave-one-out Spearman −0.55).
   */
  uninformativeBelow: number;
  /**
   * learned mode: the guard's fallbacks also include cost models fitted on the k samples alone (a
   * ridge over log FLOPs, log params and, on FBNet, depth; and depth alone).
   */
  costFallbacks: boolean;
  /** learned mode: how the guard scores its candidates' leave-one-out predictions (see guardWithFallbacks) */
  guardScore: GuardScore;
  /**
   * learned mode, per search space: the guard's choice is blended with the next best
   * `guardBlend − 1` candidates by leave-one-out score (geometric mean of their latencies; 1: no
   * blend). Chosen on every task's validation devices (bench:scale section 5, k = 10, 5 seeds, mean
   * over devices of the worst seed): FBNet 0.823 alone → 0.859 blended with the runner-up (devices
   * whose worst seed is below 0.5: 3 → 1 of 88); NB201 0.917 alone vs 0.907, so not there.
   */
  guardBlend: Record<SearchSpace, number>;
}

export const DEFAULT_PREDICTOR: PredictorConfig = {
  trunk: 'mlp',
  deviceRep: 'learned',
  encoding: 'onehot',
  hidden: 128,
  features: 32,
  epochs: 25,
  batch: 256,
  lr: 2e-3,
  seed: 1,
  fineTuneSteps: 60,
  costColumns: true,
  guardMargin: 0,
  uninformativeBelow: 0.3,
  costFallbacks: true,
  guardScore: 'r2',
  guardBlend: { nb201: 1, fbnet: 2 },
};

/** log latency standardised per device: ranking and scale live in separate places */
export function zScores(lat: Float64Array): { z: Float32Array; mean: number; sd: number } {
  const logs = Array.from(lat, Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((s, v) => s + (v - mean) ** 2, 0) / logs.length) || 1;
  return { z: Float32Array.from(logs, (v) => (v - mean) / sd), mean, sd };
}

/** HELP hardware embedding: standardised log latencies of the reference architectures */
export function hardwareEmbedding(refLatMs: number[]): Float32Array {
  return zScores(Float64Array.from(refLatMs)).z;
}

/** affine fit on the mean of the basis columns + ridge on the residual, over basis ∪ extra (see adaptLearned) */
function fitAroundMean(basis: Float64Array[], rows: number[], y: number[], extra: Float64Array[] = []): { predict(i: number): number; loo: number[] } {
  const meanOf = (i: number) => basis.reduce((s, b) => s + b[i]!, 0) / basis.length;
  const m = rows.map(meanOf);
  const mm = m.reduce((a, b) => a + b, 0) / m.length;
  const ym = y.reduce((a, b) => a + b, 0) / y.length;
  const sxx = m.reduce((s, v) => s + (v - mm) ** 2, 0);
  const slope = sxx > 0 ? m.reduce((s, v, i) => s + (v - mm) * (y[i]! - ym), 0) / sxx : 0;
  const base = (i: number) => ym + slope * (meanOf(i) - mm);
  const cols = [...basis, ...extra];
  const residual = fitRidge(rows.map((r) => cols.map((b) => b[r]!)), rows.map((r, i) => y[i]! - base(r)));
  return {
    predict: (i) => base(i) + residual.predict(cols.map((b) => b[i]!)),
    loo: rows.map((r, i) => base(r) + residual.loo[i]!),
  };
}

/** ridge on basis ∪ extra columns, shrinking toward a constant */
function fitPlain(basis: Float64Array[], rows: number[], y: number[], extra: Float64Array[] = []): { predict(i: number): number; loo: number[] } {
  const cols = [...basis, ...extra];
  const m = fitRidge(rows.map((r) => cols.map((b) => b[r]!)), y);
  return { predict: (i) => m.predict(cols.map((b) => b[i]!)), loo: m.loo };
}

export interface AdaptedPredictor {
  /** predicted latency (ms) of every architecture of the space */
  predictAllMs(): Float64Array;
  /**
   * what answers: 'transfer' (the adapted predictor), a fallback that beat it on the
   * leave-one-out check over the k samples ('proxy:<training device>', 'flops', 'costs', 'depth'),
   * or a blend of the best two ('blend:<first>+<second>')
   */
  source: string;
  /** the best leave-one-out score over the k samples among the candidates (how informative they were; see GuardScore) */
  looScore?: number;
}

export interface Candidate extends AdaptedPredictor {
  /** leave-one-out predictions of the k samples' log latency */
  loo: number[];
}

/**
 * The guard of the adaptation: a user who measured k architectures on a new device must never get
 * a predictor that does worse on them (leave-one-out) than a proxy device or FLOPs would. With so
 * few samples an adapted predictor can rank inversely (fbnet-1, samsung_s7, k = 10: Spearman
 * 0.18 ± 0.67 over seeds before this guard); the fallback that explains the k samples best is
 * used instead, and named in `source`.
 */
export type GuardScore = 'r2' | 'spearman';

export interface GuardOptions {
  /** a fallback must score higher than the adapted predictor by more than this */
  margin: number;
  /** the adapted predictor ranks the whole space against FLOPs: any fallback is safer */
  implausible: boolean;
  /** below this best score the samples are uninformative and `prior` answers */
  uninformativeBelow: number;
  /** what answers when the samples are uninformative: FLOPs with latency rising with FLOPs */
  prior?: AdaptedPredictor;
  /** how the leave-one-out predictions are scored against the k samples */
  score: GuardScore;
  /**
   * blend the chosen candidate with the next best `blend − 1` by score (geometric mean of their
   * latencies; 1: no blend): 'always', or 'scored' — only when the blend's own leave-one-out score
   * (the mean of its members' leave-one-out predictions) beats the chosen candidate's
   */
  blend: number;
  blendMode: 'always' | 'scored';
}

export function guardWithFallbacks(transfer: Candidate, fallbacks: readonly Candidate[], y: readonly number[], options: Partial<GuardOptions> = {}): AdaptedPredictor {
  const { margin = 0, implausible = false, uninformativeBelow = -Infinity, prior = fallbacks.find((c) => c.source === 'flops'), score: scoring = 'r2', blend = 1, blendMode = 'always' } = options;
  // 'r2': the leave-one-out R² of log latency over the k samples. Chosen on every task's
  // validation devices (k = 10, 5 seeds; bench:scale section 5 repeats the comparison) over the
  // leave-one-out Spearman used before: ten ranks carry little information, and the size of the
  // errors tells a proxy device that ranks ten samples well by luck from a good fit.
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  const sst = y.reduce((s, v) => s + (v - my) ** 2, 0) || 1;
  const score = (c: Candidate) => {
    if (c.loo.length < 3 || c.loo.some((v) => !Number.isFinite(v))) return -Infinity;
    const sse = c.loo.reduce((s, p, i) => s + (p - y[i]!) ** 2, 0);
    return scoring === 'r2' ? 1 - sse / sst : spearman(c.loo, y) - 1e-9 * sse;
  };
  // an adapted predictor that ranks the whole space against FLOPs is implausible on any device:
  // it has fitted the k samples with the wrong sign, and any fallback is safer
  const own = implausible ? -Infinity : score(transfer);
  const best = fallbacks.map((c) => ({ c, s: score(c) })).reduce<{ c: Candidate; s: number } | undefined>((a, b) => (!a || b.s > a.s + 1e-12 ? b : a), undefined);
  // the adapted predictor keeps the benefit of the doubt: with k samples the scores are noisy
  const chosen = best && (implausible || (Number.isFinite(best.s) && (!Number.isFinite(own) || best.s > own + margin))) ? best.c : transfer;
  const looScore = Math.max(own, best?.s ?? -Infinity);
  // uninformative samples cannot orient anything either: a fit to them may have a negative slope
  if (prior && looScore < uninformativeBelow) return { source: 'flops (samples uninformative)', looScore, predictAllMs: () => prior.predictAllMs() };
  if (blend > 1) {
    const others = [...(implausible ? [] : [transfer]), ...fallbacks]
      .filter((c) => c !== chosen)
      .map((c) => ({ c, s: score(c) }))
      .filter((o) => Number.isFinite(o.s))
      .sort((a, b) => b.s - a.s);
    const members = [chosen, ...others.slice(0, blend - 1).map((o) => o.c)];
    if (members.length > 1) {
      const mixed = blendOf(members);
      if (blendMode === 'always' || score(mixed) > score(chosen)) return { source: mixed.source, looScore, predictAllMs: () => mixed.predictAllMs() };
    }
  }
  return { source: chosen.source, looScore, predictAllMs: () => chosen.predictAllMs() };
}

/** candidates averaged in log latency; its leave-one-out predictions are its members' averaged */
function blendOf(members: readonly Candidate[]): Candidate {
  const n = members.length;
  return {
    source: `blend:${members.map((m) => m.source).join('+')}`,
    loo: members[0]!.loo.map((_, i) => members.reduce((s, m) => s + m.loo[i]!, 0) / n),
    predictAllMs: () => {
      const preds = members.map((m) => m.predictAllMs());
      return Float64Array.from(preds[0]!, (_, a) => Math.exp(preds.reduce((s, p) => s + Math.log(p[a]!), 0) / n));
    },
  };
}

export class TransferPredictor {
  private readonly trunk: Trunk;
  private readonly head: ParamStore;
  private trainZ!: Float32Array[]; // per training device
  private trainStats!: Array<{ mean: number; sd: number }>;
  private trainEmb!: Float32Array[];
  /** predicted z on every training device, for every arch (learned mode) */
  private basis?: Float64Array[];

  private constructor(
    private readonly tf: TF,
    readonly data: LatencyData,
    readonly trainDevices: string[],
    readonly cfg: PredictorConfig,
    enc: Encoded,
  ) {
    const graph = cfg.trunk === 'gnn' ? graphOf(data) : undefined;
    this.trunk = new Trunk(tf, { trunk: cfg.trunk, hidden: cfg.hidden, features: cfg.features, opEmbedding: cfg.encoding === 'learned' && cfg.trunk === 'mlp' ? 8 : 0, seed: cfg.seed }, enc, graph);
    this.head = new ParamStore(tf, cfg.seed + 7);
    const T = trainDevices.length;
    if (cfg.deviceRep === 'learned') this.head.dense('dev', cfg.features, T);
    else {
      this.head.dense('h1', cfg.features + (cfg.deviceRep === 'help' ? data.referenceArchs.length : 0), 64);
      this.head.dense('h2', 64, 1);
    }
  }

  static async pretrain(tf: TF, data: LatencyData, trainDevices: string[], cfg: PredictorConfig, onEpoch?: (e: number, loss: number) => void): Promise<TransferPredictor> {
    if (trainDevices.length === 0) throw new UserError('no training devices', 'task');
    const p = new TransferPredictor(tf, data, trainDevices, cfg, await encodeAsync(tf, data, cfg.encoding));
    const stats = trainDevices.map((d) => zScores(requireDevice(data, d)));
    p.trainZ = stats.map((s) => s.z);
    p.trainStats = stats.map(({ mean, sd }) => ({ mean, sd }));
    p.trainEmb = trainDevices.map((d) => hardwareEmbedding(data.referenceArchs.map((a) => requireDevice(data, d)[a]!)));
    await p.fit(onEpoch);
    if (cfg.deviceRep === 'learned') p.basis = p.predictTrainingDevices();
    return p;
  }

  private get vars() {
    return [...this.trunk.vars, ...this.head.vars];
  }

  private async fit(onEpoch?: (e: number, loss: number) => void): Promise<void> {
    const tf = this.tf;
    const N = this.data.ops.length;
    const T = this.trainDevices.length;
    const rng = new Rng(this.cfg.seed);
    const opt = tf.train.adam(this.cfg.lr);
    for (let epoch = 0; epoch < this.cfg.epochs; epoch++) {
      const order = rng.shuffle([...Array(N).keys()]);
      let total = 0;
      let batches = 0;
      for (let s = 0; s < N; s += this.cfg.batch) {
        const rows = order.slice(s, s + this.cfg.batch);
        const n = rows.length;
        let target: Float32Array;
        let devs: number[] | undefined;
        if (this.cfg.deviceRep === 'learned') {
          target = new Float32Array(n * T);
          rows.forEach((r, i) => this.trainZ.forEach((z, d) => (target[i * T + d] = z[r]!)));
        } else if (this.cfg.deviceRep === 'help') {
          devs = rows.map(() => rng.int(0, T - 1));
          target = Float32Array.from(rows, (r, i) => this.trainZ[devs![i]!]![r]!);
        } else {
          target = Float32Array.from(rows, (r) => this.trainZ.reduce((a, z) => a + z[r]!, 0) / T);
        }
        const loss = opt.minimize(
          () => {
            const out = this.output(rows, devs);
            return tf.mean(tf.square(tf.sub(out, tf.tensor2d(target, out.shape as [number, number])))) as tfType.Scalar;
          },
          true,
          this.vars,
        );
        total += (await loss!.data())[0]!;
        loss!.dispose();
        batches++;
      }
      onEpoch?.(epoch, total / batches);
    }
    opt.dispose();
  }

  /** head output: [n, T] z per training device (learned) or [n, 1] z (help / none) */
  private output(rows: number[], devs?: number[], emb?: Float32Array): tfType.Tensor2D {
    const tf = this.tf;
    const phi = this.trunk.forward(rows);
    if (this.cfg.deviceRep === 'learned') return this.head.apply('dev', phi);
    let x = phi;
    if (this.cfg.deviceRep === 'help') {
      const E = this.data.referenceArchs.length;
      const h = new Float32Array(rows.length * E);
      rows.forEach((_, i) => h.set(emb ?? this.trainEmb[devs![i]!]!, i * E));
      x = tf.concat([phi, tf.tensor2d(h, [rows.length, E])], 1) as tfType.Tensor2D;
    }
    return this.head.apply('h2', tf.relu(this.head.apply('h1', x)));
  }

  private predictRows(emb?: Float32Array): Float64Array[] {
    const tf = this.tf;
    const N = this.data.ops.length;
    const cols = this.cfg.deviceRep === 'learned' ? this.trainDevices.length : 1;
    const out = Array.from({ length: cols }, () => new Float64Array(N));
    for (let s = 0; s < N; s += 2048) {
      const rows = Array.from({ length: Math.min(2048, N - s) }, (_, i) => s + i);
      const v = tf.tidy(() => this.output(rows, undefined, emb)).dataSync();
      rows.forEach((r, i) => {
        for (let c = 0; c < cols; c++) out[c]![r] = v[i * cols + c]!;
      });
    }
    return out;
  }

  /** predicted standardised log latency on each training device (learned mode), all archs */
  predictTrainingDevices(): Float64Array[] {
    return this.predictRows();
  }

  /**
   * Adapts to a new device from measured samples (arch rows and latency in ms).
   * help mode needs the reference architectures among the samples.
   */
  async adapt(rows: number[], latencyMs: number[]): Promise<AdaptedPredictor> {
    if (rows.length < 2) throw new UserError(`need at least 2 measured architectures, got ${rows.length}`, 'samples');
    const y = latencyMs.map(Math.log);
    if (this.cfg.deviceRep === 'learned') return this.adaptLearned(rows, y);
    let emb: Float32Array | undefined;
    if (this.cfg.deviceRep === 'help') {
      const ref = this.data.referenceArchs.map((a) => {
        const i = rows.indexOf(a);
        if (i < 0) throw new UserError(`the help device representation needs the 10 reference architectures measured; arch ${a} is missing`, 'samples');
        return latencyMs[i]!;
      });
      emb = hardwareEmbedding(ref);
    }
    // fine-tune a copy of the weights on the k samples, predict, restore
    const saved = this.vars.map((v) => v.clone());
    try {
      const tf = this.tf;
      const zk = zScores(Float64Array.from(latencyMs)).z;
      const opt = tf.train.adam(this.cfg.lr / 2);
      for (let step = 0; step < this.cfg.fineTuneSteps; step++) {
        opt.minimize(() => {
          const out = this.output(rows, undefined, emb);
          return tf.mean(tf.square(tf.sub(out, tf.tensor2d(zk, [rows.length, 1])))) as tfType.Scalar;
        }, false, this.vars);
      }
      opt.dispose();
      const z = this.predictRows(emb)[0]!;
      // affine calibration of predicted z to log ms on the samples
      const cal = fitRidge(rows.map((r) => [z[r]!]), y, [1e-6]);
      const ms = Float64Array.from(z, (v) => Math.exp(cal.predict([v])));
      return { predictAllMs: () => ms, source: 'transfer' };
    } finally {
      this.vars.forEach((v, i) => v.assign(saved[i]!));
      saved.forEach((s) => s.dispose());
    }
  }

  /**
   * Closed-form adaptation: the new device's latency as a ridge combination of the predicted
   * training-device latencies. Four fits compete on leave-one-out log error over the k samples:
   * in log space or in milliseconds (devices add op costs in ms; log space suits devices whose
   * costs scale multiplicatively), shrinking toward a constant or toward "like the average
   * training device" (an affine fit on the mean column plus a ridge residual).
   */
  private adaptLearned(rows: number[], y: number[]): AdaptedPredictor {
    const g = this.guardCandidates(rows, y);
    if (!Number.isFinite(this.cfg.guardMargin)) return g.transfer;
    return guardWithFallbacks(g.transfer, g.fallbacks, y, { margin: this.cfg.guardMargin, implausible: g.implausible, uninformativeBelow: this.cfg.uninformativeBelow, prior: g.prior, score: this.cfg.guardScore, blend: this.cfg.guardBlend[this.data.space] });
  }

  /**
   * What the adaptation's guard chooses among, for k samples (arch rows, log latency): the adapted
   * predictor, the fallbacks, the FLOPs prior, and whether the adapted one ranks against FLOPs.
   * Public so that a study can compare guard rules on the same candidates (bench:scale).
   */
  guardCandidates(rows: number[], y: number[]): { transfer: Candidate; fallbacks: Candidate[]; prior: AdaptedPredictor; implausible: boolean } {
    if (this.cfg.deviceRep !== 'learned') throw new Error('guard candidates exist for the learned device representation only');
    const N = this.data.ops.length;
    const logBasis = this.basis!;
    const msBasis = logBasis.map((b, d) => Float64Array.from(b, (z) => Math.exp(this.trainStats[d]!.mean + this.trainStats[d]!.sd * z)));
    const floor = Math.min(...y.map(Math.exp)) / 10;
    const spaces = [
      { basis: logBasis, target: y, toLog: (v: number) => v, toMs: (v: number) => Math.exp(v) },
      { basis: msBasis, target: y.map(Math.exp), toLog: (v: number) => Math.log(Math.max(v, floor)), toMs: (v: number) => Math.max(v, floor) },
    ];
    const extra = this.cfg.costColumns ? this.costCols() : [];
    const fits = spaces.flatMap((c) =>
      [fitAroundMean(c.basis, rows, c.target, extra), fitPlain(c.basis, rows, c.target, extra)].map((model) => ({
        ...c,
        model,
        looErr: model.loo.reduce((s, p, i) => s + (c.toLog(p) - y[i]!) ** 2, 0),
      })),
    );
    const best = fits.reduce((a, b) => (b.looErr < a.looErr ? b : a));
    const transfer = { source: 'transfer', loo: best.model.loo.map((p) => best.toLog(p)), predictAllMs: () => Float64Array.from({ length: N }, (_, i) => best.toMs(best.model.predict(i))) };
    return { transfer, fallbacks: this.fallbacks(rows, y), prior: this.flopsPrior(y), implausible: this.againstFlops(transfer.predictAllMs()) };
  }

  /**
   * FLOPs as a prior that needs no samples to be oriented: log latency = mean of the samples' log
   * latency + their spread × standardised log FLOPs (slope fixed positive: more work, more time).
   */
  private flopsPrior(y: number[]): AdaptedPredictor {
    const col = analyticCosts(this.data).map((r) => r[0]!);
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    const sd = Math.sqrt(y.reduce((a, v) => a + (v - my) ** 2, 0) / y.length) || 0.1;
    return { source: 'flops', predictAllMs: () => Float64Array.from(col, (v) => Math.exp(my + sd * v)) };
  }

  /** whether a full-space prediction ranks against FLOPs (Spearman < 0 on a fixed subset of 2,000 archs) */
  private againstFlops(pred: Float64Array): boolean {
    const flops = analyticCosts(this.data).map((r) => r[0]!);
    const rng = new Rng(17);
    const idx = Array.from({ length: Math.min(2000, pred.length) }, () => rng.int(0, pred.length - 1));
    return spearman(idx.map((i) => pred[i]!), idx.map((i) => flops[i]!)) < 0;
  }

  /**
   * The obvious predictors a user with k measurements could have used instead: each training
   * device's measured latencies mapped to the new device by a log-linear fit (a proxy device), and
   * FLOPs alone. Each comes with its leave-one-out log error over the same k samples.
   */
  private fallbacks(rows: number[], y: number[]): Candidate[] {
    const N = this.data.ops.length;
    const costs = this.costCols();
    const columns: Array<[string, Float64Array[]]> = [
      ...this.trainDevices.map((d): [string, Float64Array[]] => [`proxy:${d}`, [Float64Array.from(requireDevice(this.data, d), (v) => Math.log(v))]]),
      ['flops', [Float64Array.from(analyticCosts(this.data), (r) => r[0]!)]],
      // a cost model fitted on the k samples alone: on FBNet, GPUs at batch 1 rank by depth
      // (Spearman 0.80-0.94 against 0.20-0.45 for FLOPs), which no mobile/CPU proxy device sees
      ...(this.cfg.costFallbacks ? ([['costs', costs], ...(costs.length > 2 ? [['depth', [costs[2]!]]] : [])] as Array<[string, Float64Array[]]>) : []),
    ];
    return columns.map(([source, cols]) => {
      const m = fitRidge(rows.map((r) => cols.map((c) => c[r]!)), y, cols.length > 1 ? [1e-3, 1e-2, 1e-1, 1, 10] : [1e-6, 1e-3, 1e-1]);
      return { source, loo: m.loo, predictAllMs: () => Float64Array.from({ length: N }, (_, i) => Math.exp(m.predict(cols.map((c) => c[i]!)))) };
    });
  }

  private costColumnsCache?: Float64Array[];
  /**
   * Standardised log FLOPs and log params of every architecture, one column each, and on FBNet its
   * depth (blocks that are not `skip`). FBNet is a chain of 22 blocks and a skip removes a whole
   * layer, so depth sets the per-layer overheads (kernel launches: what GPUs at batch 1 pay) that
   * FLOPs miss — measured on fbnet-3 at k = 10: Spearman 0.20 → 0.77. NB201's skeleton is fixed
   * (every cell runs), and there the extra column only added leave-one-out noise (raspi4 0.92 → 0.85).
   */
  private costCols(): Float64Array[] {
    if (!this.costColumnsCache) {
      const rows = analyticCosts(this.data);
      const cols = [0, 1].map((j) => Float64Array.from(rows, (r) => r[j]!));
      if (this.data.space === 'fbnet') {
        const skip = FBNET_OPS.indexOf('skip');
        const depth = Float64Array.from(this.data.ops, (o) => Array.from(o).filter((op) => op !== skip).length);
        const m = depth.reduce((a, b) => a + b, 0) / depth.length;
        const sd = Math.sqrt(depth.reduce((a, b) => a + (b - m) ** 2, 0) / depth.length) || 1;
        cols.push(depth.map((d) => (d - m) / sd));
      }
      this.costColumnsCache = cols;
    }
    return this.costColumnsCache;
  }

  dispose(): void {
    this.trunk.dispose();
    this.head.dispose();
  }
}
