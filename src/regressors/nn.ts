import type * as tfType from '@tensorflow/tfjs';
import { loadTfjsWasm } from '../runtimes/tfjs.js';
import { Rng } from '../util/random.js';
import { standardise, standardiser, type Standardiser } from './ridge.js';

/**
 * The neural RMs' one network: a shared encoder (dense + ReLU layers) and one decoder head per
 * task (dense + ReLU, then a linear output). One task = a plain MLP; several = MEDN. Trained with
 * tfjs on the wasm backend; predictions run on the exported weights in plain JS (a few µs,
 * where a tfjs call costs ~100 µs of dispatch).
 */
export interface NetSpec {
  encoder: number[];
  head: number[];
  tasks: number;
}

/** one dense layer, exported for plain-JS inference (shared with the scale predictors) */
export interface Layer {
  w: number[]; // in × out, row-major
  b: number[];
  in: number;
  out: number;
  relu: boolean;
}

export interface NetState {
  spec: NetSpec;
  x: Standardiser;
  /** per task: mean and sd of log(target) */
  y: Array<{ mean: number; sd: number }>;
  encoder: Layer[];
  heads: Layer[][];
  epochs: number;
}

export interface TrainOptions {
  seed: number;
  maxEpochs?: number;
  batch?: number;
  lr?: number;
  /** epochs without improvement of the validation loss before stopping */
  patience?: number;
}

export function forwardLayer(l: Layer, x: number[]): number[] {
  const out = l.b.slice();
  for (let i = 0; i < l.in; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * l.out;
    for (let j = 0; j < l.out; j++) out[j]! += xi * l.w[row + j]!;
  }
  if (l.relu) for (let j = 0; j < l.out; j++) if (out[j]! < 0) out[j] = 0;
  return out;
}

/** prediction of one task in milliseconds */
export function netPredict(s: NetState, X: number[][], task = 0): number[] {
  return X.map((x) => {
    let h = standardise(s.x, x);
    for (const l of s.encoder) h = forwardLayer(l, h);
    for (const l of s.heads[task]!) h = forwardLayer(l, h);
    return Math.exp(h[0]! * s.y[task]!.sd + s.y[task]!.mean);
  });
}

/**
 * Trains the network on log targets (Y[i][t] in ms, NaN = not measured). Loss = Σ over tasks of
 * that task's mean squared error on its measured rows (standardised log latency), so a task with
 * few rows is not drowned by one with many. 10 % of the rows with a measured main task (task 0)
 * are held out for early stopping; the best epoch's weights are kept.
 */
export async function trainNet(spec: NetSpec, X: number[][], Y: number[][], opts: TrainOptions): Promise<NetState> {
  const tf = await loadTfjsWasm();
  const rng = new Rng(opts.seed);
  const T = spec.tasks;
  const xs = standardiser(X);
  const Z = X.map((r) => standardise(xs, r));
  const ystats = Array.from({ length: T }, (_, t) => {
    const v = Y.map((r) => r[t]!).filter(Number.isFinite).map(Math.log);
    const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length)) || 1;
    return { mean, sd };
  });
  const Yz = Y.map((r) => r.map((v, t) => (Number.isFinite(v) ? (Math.log(v) - ystats[t]!.mean) / ystats[t]!.sd : NaN)));

  const withMain = rng.shuffle(Z.map((_, i) => i).filter((i) => Number.isFinite(Yz[i]![0])));
  const nVal = withMain.length >= 40 ? Math.round(withMain.length * 0.1) : 0;
  const valSet = new Set(withMain.slice(0, nVal));
  const train = Z.map((_, i) => i).filter((i) => !valSet.has(i));
  const val = [...valSet];

  const init = new Rng(opts.seed + 17);
  const vars: tfType.Variable[] = [];
  const dense = (fanIn: number, fanOut: number) => {
    const w = tf.variable(tf.tensor2d(Array.from({ length: fanIn * fanOut }, () => init.normal() * Math.sqrt(2 / fanIn)), [fanIn, fanOut]));
    const b = tf.variable(tf.zeros([fanOut]));
    vars.push(w, b);
    return { w, b };
  };
  const d = Z[0]!.length;
  const enc: Array<{ w: tfType.Variable; b: tfType.Variable }> = [];
  let width = d;
  for (const h of spec.encoder) {
    enc.push(dense(width, h));
    width = h;
  }
  const heads = Array.from({ length: T }, () => {
    const layers: Array<{ w: tfType.Variable; b: tfType.Variable }> = [];
    let hw = width;
    for (const h of spec.head) {
      layers.push(dense(hw, h));
      hw = h;
    }
    layers.push(dense(hw, 1));
    return layers;
  });
  const forward = (x: tfType.Tensor2D): tfType.Tensor2D => {
    let h = x;
    for (const l of enc) h = tf.relu(tf.add(tf.matMul(h, l.w), l.b)) as tfType.Tensor2D;
    const outs = heads.map((layers) => {
      let o: tfType.Tensor2D = h;
      layers.forEach((l, i) => {
        o = tf.add(tf.matMul(o, l.w), l.b) as tfType.Tensor2D;
        if (i < layers.length - 1) o = tf.relu(o) as tfType.Tensor2D;
      });
      return o;
    });
    return (outs.length === 1 ? outs[0]! : tf.concat(outs, 1)) as tfType.Tensor2D;
  };
  // per-task weights: each task's squared errors are averaged over its own measured rows
  const counts = Array.from({ length: T }, (_, t) => train.filter((i) => Number.isFinite(Yz[i]![t])).length);
  const taskW = counts.map((c) => (c > 0 ? train.length / c : 0));
  const batchTensors = (rows: number[]) => ({
    x: tf.tensor2d(rows.map((i) => Z[i]!)),
    y: tf.tensor2d(rows.map((i) => Yz[i]!.map((v) => (Number.isFinite(v) ? v : 0)))),
    m: tf.tensor2d(rows.map((i) => Yz[i]!.map((v, t) => (Number.isFinite(v) ? taskW[t]! : 0)))),
  });
  const lossOf = (b: { x: tfType.Tensor2D; y: tfType.Tensor2D; m: tfType.Tensor2D }) => tf.div(tf.sum(tf.mul(b.m, tf.square(tf.sub(forward(b.x), b.y)))), b.x.shape[0] * T) as tfType.Scalar;

  const optimizer = tf.train.adam(opts.lr ?? 3e-3);
  const batch = opts.batch ?? 32;
  const maxEpochs = opts.maxEpochs ?? 400;
  // the validation loss is noisy on a few hundred rows: a short patience stopped at epoch ~30 (conv2d: 30 % within ±10 % vs 41 % at 60)
  const patience = opts.patience ?? 60;
  const valT = val.length ? batchTensors(val) : undefined;
  let best = { loss: Infinity, epoch: 0, weights: vars.map((v) => v.dataSync().slice()) };
  let epoch = 0;
  for (; epoch < maxEpochs; epoch++) {
    const order = rng.shuffle(train.slice());
    for (let s = 0; s < order.length; s += batch) {
      const bt = batchTensors(order.slice(s, s + batch));
      tf.tidy(() => {
        optimizer.minimize(() => lossOf(bt as never));
      });
      tf.dispose([bt.x, bt.y, bt.m]);
    }
    if (!valT) continue;
    const vl = tf.tidy(() => lossOf(valT as never).dataSync()[0]!);
    if (vl < best.loss - 1e-6) best = { loss: vl, epoch, weights: vars.map((v) => v.dataSync().slice()) };
    else if (epoch - best.epoch >= patience) break;
  }
  if (valT) {
    best.weights.forEach((w, i) => vars[i]!.assign(tf.tensor(w, vars[i]!.shape)));
    tf.dispose([valT.x, valT.y, valT.m]);
  }
  const toLayer = (l: { w: tfType.Variable; b: tfType.Variable }, relu: boolean): Layer => ({
    w: Array.from(l.w.dataSync()),
    b: Array.from(l.b.dataSync()),
    in: l.w.shape[0]!,
    out: l.w.shape[1]!,
    relu,
  });
  const state: NetState = {
    spec,
    x: xs,
    y: ystats,
    encoder: enc.map((l) => toLayer(l, true)),
    heads: heads.map((layers) => layers.map((l, i) => toLayer(l, i < layers.length - 1))),
    epochs: valT ? best.epoch + 1 : epoch,
  };
  tf.dispose(vars);
  optimizer.dispose();
  return state;
}
