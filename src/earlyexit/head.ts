import { headBytes, headFlops, HeadPredictor, type HeadSnapshot, type HeadSpec } from './head-model.js';
import type { CompiledHead } from './onnx-graph.js';
import { InThreadTrainer, type HeadTrainer } from './trainer.js';

export { headBytes, softmaxInPlace } from './head-model.js';

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

let headCount = 0;
/** trainer for heads whose caller names none (tests, the offline baseline): this thread */
let sharedThreadTrainer: HeadTrainer | undefined;

/**
 * A cache head: standardised pooled features → dense(hidden, ReLU) → dense(classes) → softmax.
 *
 * Trained by a HeadTrainer (tfjs wasm, in a trainer process or on this thread) against soft targets
 * (the backbone's probabilities: distillation) or one-hot labels (the offline baseline). Inference
 * runs on a plain Float32Array snapshot of the weights: a 640→96→10 head is ~62 k MACs, far cheaper
 * in JS than a tfjs dispatch per request. A new snapshot replaces the old one in one assignment.
 */
export class CacheHead {
  readonly hidden: number;
  /** the trainer's name for this head (its optimiser state lives there) */
  readonly key = `head-${++headCount}`;
  private predictor?: HeadPredictor;

  constructor(readonly inDim: number, readonly classes: number, private readonly opts: HeadOptions = DEFAULT_HEAD) {
    this.hidden = opts.hidden;
  }

  get spec(): HeadSpec {
    return { inDim: this.inDim, hidden: this.hidden, classes: this.classes, learningRate: this.opts.learningRate, seed: this.opts.seed };
  }

  get trained(): boolean {
    return this.predictor !== undefined;
  }

  /** parameter bytes (float32) including the standardisation vectors */
  get bytes(): number {
    return headBytes(this.inDim, this.hidden, this.classes);
  }

  /** FLOPs of one prediction (standardise + two dense layers + softmax) */
  get flops(): number {
    return headFlops(this.inDim, this.hidden, this.classes);
  }

  /** installs trained weights (from a training round) */
  install(snapshot: HeadSnapshot): void {
    this.predictor = new HeadPredictor(snapshot, this.inDim, this.hidden, this.classes);
  }

  /** One training round of this head alone (the engine batches all heads into one round instead). */
  async fit(xs: Float32Array[], targets: Float32Array[], o: { epochs: number; batchSize: number }, trainer?: HeadTrainer): Promise<void> {
    if (xs.length === 0) return;
    const t = trainer ?? (sharedThreadTrainer ??= new InThreadTrainer());
    const records = new Map(xs.map((x, i) => [i, { features: [x], teacher: targets[i]! }]));
    const [r] = await t.train({ records, heads: [{ key: this.key, spec: this.spec, cut: 0, train: [...records.keys()] }], options: o });
    this.install(r!.snapshot);
  }

  /** class probabilities for one pooled feature vector (plain JS on the weight snapshot) */
  predict(x: Float32Array): Float32Array {
    return this.predictor!.predict(x);
  }

  /** the trained weights as typed arrays, to compile the head into an ONNX segment */
  compiled(): CompiledHead {
    const p = this.predictor;
    if (!p) throw new Error('head is not trained yet');
    return { inDim: this.inDim, hidden: this.hidden, classes: this.classes, ...p.snap };
  }

  toJSON(): HeadWeights {
    const p = this.predictor;
    if (!p) throw new Error('head is not trained yet');
    const s = p.snap;
    return { inDim: this.inDim, hidden: this.hidden, classes: this.classes, mean: [...s.mean], invStd: [...s.invStd], w1: [...s.w1], b1: [...s.b1], w2: [...s.w2], b2: [...s.b2] };
  }

  /** weights live in plain arrays here; a trainer's state is released with the trainer */
  dispose(): void {}
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}
