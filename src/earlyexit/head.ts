import type * as tfType from '@tensorflow/tfjs';
import { loadTfjsWasm } from '../runtimes/tfjs.js';
import { Rng } from '../util/random.js';
import type { CompiledHead } from './onnx-graph.js';

type Tf = typeof tfType;

export interface HeadOptions {
  hidden: number;
  learningRate: number;
  seed: number;
}

export const DEFAULT_HEAD: HeadOptions = { hidden: 96, learningRate: 2e-3, seed: 1 };

/**
 * The hidden width of a head: full width when that fits the memory budget, else the width that
 * fits `share` of it (so two such caches can be enabled). With many classes the
 * hidden layer is the head's rank (in → hidden → classes), and narrowing it is what keeps a
 * 1,000-class head within budget — at the default width such a head on a ResNet-18-sized feature
 * vector is 490–673 KiB, over the whole 512 KiB, so no cache could ever be enabled. Never wider
 * than `max`, never narrower than 8 (below that the head cannot separate many classes at all).
 */
/** parameter bytes (float32) of a head, including the standardisation vectors */
export const headBytes = (inDim: number, hidden: number, classes: number) => 4 * (inDim * hidden + hidden + hidden * classes + classes + 2 * inDim);

export function hiddenForBudget(inDim: number, classes: number, budgetBytes: number, max: number, share = 0.5): number {
  // a head that fits the budget at full width keeps it (the 10-class heads this was tuned on)
  if (headBytes(inDim, max, classes) <= budgetBytes) return max;
  const floats = (budgetBytes * share) / 4 - classes - 2 * inDim;
  return Math.max(8, Math.min(max, Math.floor(floats / (inDim + 1 + classes))));
}

export interface HeadWeights {
  inDim: number;
  hidden: number;
  classes: number;
  mean: number[];
  invStd: number[];
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number[];
}

/**
 * A cache head: standardised pooled features → dense(hidden, ReLU) → dense(classes) → softmax.
 *
 * Trained with tfjs on the wasm backend (dense layers have gradients there; convolutions do not),
 * against soft targets (the backbone's probabilities: distillation) or one-hot labels (the offline
 * baseline). Inference runs on a plain Float32Array snapshot of the weights: a 256→64→10 head is
 * ~18 k MACs, far cheaper in JS than a tfjs dispatch per request.
 */
export class CacheHead {
  readonly hidden: number;
  private mean?: Float32Array;
  private invStd?: Float32Array;
  private vars?: { w1: tfType.Variable; b1: tfType.Variable; w2: tfType.Variable; b2: tfType.Variable };
  private optimizer?: tfType.Optimizer;
  /** weight snapshot for inference; w1t is w1 transposed (hidden × in) so each unit is one dot product */
  private snap?: { w1: Float32Array; w1t: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array };
  private readonly rng: Rng;
  /** training examples seen (with repetition over epochs) */
  examplesSeen = 0;

  constructor(readonly inDim: number, readonly classes: number, private readonly opts: HeadOptions = DEFAULT_HEAD) {
    this.hidden = opts.hidden;
    this.rng = new Rng(opts.seed);
  }

  get trained(): boolean {
    return this.snap !== undefined;
  }

  /** parameter bytes (float32) including the standardisation vectors */
  get bytes(): number {
    return headBytes(this.inDim, this.hidden, this.classes);
  }

  /** FLOPs of one prediction (standardise + two dense layers + softmax) */
  get flops(): number {
    return 2 * this.inDim + 2 * (this.inDim * this.hidden + this.hidden * this.classes) + 3 * this.classes;
  }

  private init(tf: Tf, xs: Float32Array[]): void {
    const d = this.inDim;
    const mean = new Float32Array(d);
    const sq = new Float32Array(d);
    for (const x of xs) for (let i = 0; i < d; i++) (mean[i] += x[i]!), (sq[i] += x[i]! * x[i]!);
    this.invStd = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      mean[i]! /= xs.length;
      const v = sq[i]! / xs.length - mean[i]! * mean[i]!;
      this.invStd[i] = 1 / Math.sqrt(Math.max(v, 0) + 1e-6);
    }
    this.mean = mean;
    const glorot = (fanIn: number, fanOut: number) => {
      const s = Math.sqrt(2 / (fanIn + fanOut));
      return Float32Array.from({ length: fanIn * fanOut }, () => this.rng.normal() * s);
    };
    this.vars = {
      w1: tf.variable(tf.tensor2d(glorot(d, this.hidden), [d, this.hidden])),
      b1: tf.variable(tf.zeros([this.hidden])),
      w2: tf.variable(tf.tensor2d(glorot(this.hidden, this.classes), [this.hidden, this.classes])),
      b2: tf.variable(tf.zeros([this.classes])),
    };
    this.optimizer = tf.train.adam(this.opts.learningRate);
  }

  private standardise(x: Float32Array, out: Float32Array): Float32Array {
    for (let i = 0; i < this.inDim; i++) out[i] = (x[i]! - this.mean![i]!) * this.invStd![i]!;
    return out;
  }

  /**
   * Minibatch Adam steps on (features, target distribution) pairs; `targets` are probabilities
   * (soft for distillation, one-hot for supervised training). The loss is cross-entropy.
   */
  async fit(xs: Float32Array[], targets: Float32Array[], o: { epochs: number; batchSize: number }): Promise<void> {
    if (xs.length === 0) return;
    const tf = await loadTfjsWasm();
    if (!this.vars) this.init(tf, xs);
    const v = this.vars!;
    const order = xs.map((_, i) => i);
    const row = new Float32Array(this.inDim);
    for (let e = 0; e < o.epochs; e++) {
      this.rng.shuffle(order);
      for (let s = 0; s < order.length; s += o.batchSize) {
        const idx = order.slice(s, s + o.batchSize);
        const xb = new Float32Array(idx.length * this.inDim);
        const yb = new Float32Array(idx.length * this.classes);
        idx.forEach((j, r) => {
          xb.set(this.standardise(xs[j]!, row), r * this.inDim);
          yb.set(targets[j]!, r * this.classes);
        });
        tf.tidy(() => {
          const x = tf.tensor2d(xb, [idx.length, this.inDim]);
          const y = tf.tensor2d(yb, [idx.length, this.classes]);
          this.optimizer!.minimize(() => {
            const h = tf.relu(tf.add(tf.matMul(x, v.w1), v.b1));
            const logits = tf.add(tf.matMul(h, v.w2), v.b2);
            return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tfType.Scalar;
          });
        });
        this.examplesSeen += idx.length;
        // let a server answer requests between minibatches (training runs on the same thread)
        await new Promise((r) => setImmediate(r));
      }
    }
    const w1 = (await v.w1.data()) as Float32Array;
    const w1t = new Float32Array(w1.length);
    for (let i = 0; i < this.inDim; i++) for (let j = 0; j < this.hidden; j++) w1t[j * this.inDim + i] = w1[i * this.hidden + j]!;
    this.snap = {
      w1,
      w1t,
      b1: (await v.b1.data()) as Float32Array,
      w2: (await v.w2.data()) as Float32Array,
      b2: (await v.b2.data()) as Float32Array,
    };
  }

  private readonly hBuf = new Float32Array(1024);
  private readonly xBuf = new Float32Array(4096);

  /** class probabilities for one pooled feature vector (plain JS on the weight snapshot) */
  predict(x: Float32Array): Float32Array {
    const s = this.snap!;
    const d = this.inDim;
    const H = this.hidden;
    const C = this.classes;
    const xs = d <= this.xBuf.length ? this.standardise(x, this.xBuf) : this.standardise(x, new Float32Array(d));
    const h = H <= this.hBuf.length ? this.hBuf : new Float32Array(H);
    // dot-product form over float32 rows: measured ~1.6× faster in V8 than the axpy form
    const w = s.w1t;
    for (let j = 0; j < H; j++) {
      let acc = s.b1[j]!;
      const off = j * d;
      for (let i = 0; i < d; i++) acc += xs[i]! * w[off + i]!;
      h[j] = acc;
    }
    const out = new Float32Array(C);
    out.set(s.b2);
    for (let j = 0; j < H; j++) {
      const hj = h[j]! > 0 ? h[j]! : 0;
      if (hj === 0) continue;
      const off = j * C;
      for (let c = 0; c < C; c++) out[c]! += hj * s.w2[off + c]!;
    }
    return softmaxInPlace(out);
  }

  /** the trained weights as typed arrays, to compile the head into an ONNX segment */
  compiled(): CompiledHead {
    const s = this.snap;
    if (!s) throw new Error('head is not trained yet');
    return { inDim: this.inDim, hidden: this.hidden, classes: this.classes, mean: this.mean!, invStd: this.invStd!, w1: s.w1, b1: s.b1, w2: s.w2, b2: s.b2 };
  }

  toJSON(): HeadWeights {
    const s = this.snap;
    if (!s) throw new Error('head is not trained yet');
    return { inDim: this.inDim, hidden: this.hidden, classes: this.classes, mean: [...this.mean!], invStd: [...this.invStd!], w1: [...s.w1], b1: [...s.b1], w2: [...s.w2], b2: [...s.b2] };
  }

  dispose(): void {
    if (this.vars) for (const v of Object.values(this.vars)) v.dispose();
    this.optimizer?.dispose();
  }
}

export function softmaxInPlace(z: Float32Array): Float32Array {
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += z[i] = Math.exp(z[i]! - m);
  for (let i = 0; i < z.length; i++) z[i]! /= sum;
  return z;
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}
