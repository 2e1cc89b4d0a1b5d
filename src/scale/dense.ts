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

export const stackParams = (stack: Stack) => stack.reduce((s, l) => s + l.w.length + l.b.length, 0);

export async function trainStack(o: StackTraining): Promise<Stack> {
  const tf = await loadTfjsWasm();
  const init = new Rng(o.seed);
  const rng = new Rng(o.seed + 101);
  const vars: Array<{ w: tfType.Variable; b: tfType.Variable }> = [];
  for (let i = 1; i < o.sizes.length; i++) {
    const [fanIn, fanOut] = [o.sizes[i - 1]!, o.sizes[i]!];
    vars.push({
      w: tf.variable(tf.tensor2d(Float32Array.from({ length: fanIn * fanOut }, () => init.normal() * Math.sqrt(2 / fanIn)), [fanIn, fanOut])),
      b: tf.variable(tf.zeros([fanOut])),
    });
  }
  const forward = (x: tfType.Tensor2D) =>
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
      const x = tf.tensor2d(b.x);
      const y = tf.tensor2d(b.y);
      return optimizer.minimize(() => {
        const out = forward(x);
        if (o.loss === 'mse') return tf.mean(tf.square(tf.sub(out, y))) as tfType.Scalar;
        const g = o.loss.softmaxGroupSize;
        return tf.losses.softmaxCrossEntropy(y.reshape([-1, g]), out.reshape([-1, g])) as tfType.Scalar;
      }, true)!;
    });
    if (o.onStep && (step % 100 === 0 || step === o.steps - 1)) o.onStep(step, loss.dataSync()[0]!);
    loss.dispose();
  }
  optimizer.dispose();
  const stack: Stack = vars.map((l, i) => ({
    w: Array.from(l.w.dataSync()),
    b: Array.from(l.b.dataSync()),
    in: l.w.shape[0]!,
    out: l.w.shape[1]!,
    relu: i < vars.length - 1,
  }));
  for (const l of vars) tf.dispose([l.w, l.b]);
  return stack;
}
