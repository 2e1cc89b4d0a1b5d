import type * as tfType from '@tensorflow/tfjs';
import { forwardLayer, type Layer } from '../regressors/nn.js';
import { loadTfjsWasm } from '../runtimes/tfjs.js';
import { Rng } from '../util/random.js';

/**
 * A stack of dense layers (ReLU between, linear output) trained with tfjs on the wasm backend from
 * minibatches the caller draws, then exported to plain arrays: the scale predictors answer one
 * device or one design in microseconds with `stackForward`, where a tfjs call costs ~100 µs.
 */
export type Stack = Layer[];

/** the size and training of a stack: `layers` hidden layers of `hidden` units, Adam at `lr` */
export interface StackOptions {
  hidden: number;
  layers: number;
  steps: number;
  batch: number;
  seed: number;
  lr: number;
}

export interface Batch {
  x: number[][];
  /** mse: one target per row; softmax: one distribution per group of `groupSize` outputs */
  y: number[][];
}

export interface StackTraining {
  sizes: number[];
  steps: number;
  seed: number;
  lr?: number;
  loss: 'mse' | { softmaxGroupSize: number };
  batch(rng: Rng, step: number): Batch;
  /** the learning rate decays linearly to this share of `lr` over the steps */
  finalLrShare?: number;
  onStep?: (step: number, loss: number) => void;
}

export function stackForward(stack: Stack, x: number[]): number[] {
  let h = x;
  for (const l of stack) h = forwardLayer(l, h);
  return h;
}

export interface CompiledLayer {
  w: Float64Array;
  b: Float64Array;
  in: number;
  out: number;
  relu: boolean;
}
/** a stack's weights as typed arrays: converted once per model (~0.5 ms for the pair predictor), shared by every FoldedStack */
export type CompiledStack = readonly CompiledLayer[];
export const compileStack = (stack: Stack): CompiledStack => stack.map((l) => ({ w: Float64Array.from(l.w), b: Float64Array.from(l.b), in: l.in, out: l.out, relu: l.relu }));

/** a stack compiled to typed arrays with no inputs folded: `forward(x)` for the whole input (reused output array) */
export const compiledNet = (stack: Stack): FoldedStack => new FoldedStack(compileStack(stack), [], stack[0]!.in);

/**
 * A stack specialised for many answers that share part of their input (the scale predictors: one
 * device's features, then one architecture after another): the shared inputs are folded into the
 * first layer's bias once, and each answer adds only its own non-zero inputs (an architecture's
 * one-hot ops and two costs) before the dense layers that follow. Same numbers as `stackForward`
 * up to rounding; ~1.7× faster than `stackForward` on the pair predictor (15 → 9 µs an answer, scratch timing on the 2-core VM).
 */
export class FoldedStack {
  private readonly first: Float64Array;
  private readonly w1: Float64Array;
  private readonly rest: readonly CompiledLayer[];
  private readonly h: Float64Array[];
  /** scratch for the non-zero inputs of a layer */
  private readonly idx: Int32Array;
  private readonly val: Float64Array;

  /** `fixed` are the inputs from `fixedAt` on, the same for every answer */
  constructor(private readonly stack: CompiledStack, fixed: ArrayLike<number>, private readonly fixedAt: number) {
    const l0 = stack[0]!;
    if (fixedAt + fixed.length !== l0.in) throw new Error(`folded inputs end at ${fixedAt + fixed.length}, the stack takes ${l0.in}`);
    this.first = l0.b.slice();
    for (let i = 0; i < fixed.length; i++) {
      const xi = fixed[i]!;
      const row = (fixedAt + i) * l0.out;
      for (let j = 0; j < l0.out; j++) this.first[j]! += xi * l0.w[row + j]!;
    }
    this.w1 = l0.w.subarray(0, fixedAt * l0.out);
    this.rest = stack.slice(1);
    this.h = stack.map((l) => new Float64Array(l.out));
    const widest = Math.max(...stack.map((l) => l.in));
    [this.idx, this.val] = [new Int32Array(widest), new Float64Array(widest)];
  }

  /** the stack's output for the variable inputs `x` (length `fixedAt`); the array is reused by the next call */
  forward(x: ArrayLike<number>): Float64Array {
    const l0 = this.stack[0]!;
    let h = this.h[0]!;
    h.set(this.first);
    addRows(h, this.w1, x, this.fixedAt, this.idx, this.val);
    if (l0.relu) for (let j = 0; j < l0.out; j++) if (h[j]! < 0) h[j] = 0;
    for (let k = 0; k < this.rest.length; k++) {
      const l = this.rest[k]!;
      const out = this.h[k + 1]!;
      out.set(l.b);
      addRows(out, l.w, h, l.in, this.idx, this.val);
      if (l.relu) for (let j = 0; j < l.out; j++) if (out[j]! < 0) out[j] = 0;
      h = out;
    }
    return h;
  }
}

/**
 * out += Σ_i x[i] · W[i, :] over the non-zero x[i] (i < n), four rows per pass over `out`: ~2× the
 * speed of one row at a time in V8 (fewer loads and stores of `out`), and ReLU zeros cost nothing.
 */
function addRows(out: Float64Array, W: Float64Array, x: ArrayLike<number>, n: number, idx: Int32Array, val: Float64Array): void {
  const m = out.length;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] !== 0) {
      idx[k] = i * m;
      val[k++] = x[i]!;
    }
  }
  let q = 0;
  for (; q + 3 < k; q += 4) {
    const x0 = val[q]!;
    const x1 = val[q + 1]!;
    const x2 = val[q + 2]!;
    const x3 = val[q + 3]!;
    const r0 = idx[q]!;
    const r1 = idx[q + 1]!;
    const r2 = idx[q + 2]!;
    const r3 = idx[q + 3]!;
    for (let j = 0; j < m; j++) out[j]! += x0 * W[r0 + j]! + x1 * W[r1 + j]! + x2 * W[r2 + j]! + x3 * W[r3 + j]!;
  }
  for (; q < k; q++) {
    const xq = val[q]!;
    const r = idx[q]!;
    for (let j = 0; j < m; j++) out[j]! += xq * W[r + j]!;
  }
}

export const stackParams = (stack: Stack) => stack.reduce((s, l) => s + l.w.length + l.b.length, 0);

export async function trainStack(o: StackTraining): Promise<Stack> {
  const [stack] = await trainTowers({
    ...o,
    towers: [o.sizes],
    batch: (rng, step) => {
      const b = o.batch(rng, step);
      return { x: [b.x], y: b.y };
    },
    loss: (tf, [out], y) => {
      if (o.loss === 'mse') return tf.mean(tf.square(tf.sub(out!, y))) as tfType.Scalar;
      const g = o.loss.softmaxGroupSize;
      return tf.losses.softmaxCrossEntropy(y.reshape([-1, g]), out!.reshape([-1, g])) as tfType.Scalar;
    },
  });
  return stack!;
}

/**
 * Several stacks trained together under one loss of all their outputs (the factored pair
 * predictor: an architecture tower and a device tower whose outputs are multiplied); `batch` gives
 * one input matrix per tower, row-aligned.
 */
export interface TowersTraining {
  towers: number[][];
  steps: number;
  seed: number;
  lr?: number;
  finalLrShare?: number;
  batch(rng: Rng, step: number): { x: number[][][]; y: number[][] };
  loss(tf: typeof tfType, outs: tfType.Tensor2D[], y: tfType.Tensor2D): tfType.Scalar;
  onStep?: (step: number, loss: number) => void;
}

export async function trainTowers(o: TowersTraining): Promise<Stack[]> {
  const tf = await loadTfjsWasm();
  const init = new Rng(o.seed);
  const rng = new Rng(o.seed + 101);
  const towers = o.towers.map((sizes) => {
    const vars: Array<{ w: tfType.Variable; b: tfType.Variable }> = [];
    for (let i = 1; i < sizes.length; i++) {
      const [fanIn, fanOut] = [sizes[i - 1]!, sizes[i]!];
      vars.push({
        w: tf.variable(tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => init.normal() * Math.sqrt(2 / fanIn)), [fanIn, fanOut])),
        b: tf.variable(tf.zeros([fanOut])),
      });
    }
    return vars;
  });
  const forward = (vars: (typeof towers)[number], x: tfType.Tensor2D) =>
    vars.reduce((h, l, i) => {
      const z = tf.add(tf.matMul(h, l.w), l.b) as tfType.Tensor2D;
      return i < vars.length - 1 ? (tf.relu(z) as tfType.Tensor2D) : z;
    }, x);
  const lr0 = o.lr ?? 2e-3;
  const optimizer = tf.train.adam(lr0);
  const floor = o.finalLrShare ?? 0.1;
  for (let step = 0; step < o.steps; step++) {
    (optimizer as unknown as { learningRate: number }).learningRate = lr0 * (1 - (1 - floor) * (step / o.steps));
    const b = o.batch(rng, step);
    const loss = tf.tidy(() => {
      const xs = b.x.map((x) => tf.tensor2d(x));
      const y = tf.tensor2d(b.y);
      return optimizer.minimize(() => o.loss(tf, towers.map((t, i) => forward(t, xs[i]!)), y), true)!;
    });
    if (o.onStep && (step % 100 === 0 || step === o.steps - 1)) o.onStep(step, loss.dataSync()[0]!);
    loss.dispose();
  }
  optimizer.dispose();
  const stacks: Stack[] = towers.map((vars) =>
    vars.map((l, i) => ({
      w: Array.from(l.w.dataSync()),
      b: Array.from(l.b.dataSync()),
      in: l.w.shape[0]!,
      out: l.w.shape[1]!,
      relu: i < vars.length - 1,
    })),
  );
  for (const vars of towers) for (const l of vars) tf.dispose([l.w, l.b]);
  return stacks;
}
