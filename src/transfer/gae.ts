import type * as tfType from '@tensorflow/tfjs';
import type { LatencyData } from '../data/latency.js';
import { Rng } from '../util/random.js';
import { encode, graphOf, type Encoded } from './encoding.js';
import { ParamStore, Trunk } from './model.js';

type TF = typeof tfType;

/**
 * Unsupervised graph-autoencoder embedding of every architecture of a space, trained on the
 * architectures alone (no latency): a GCN encoder over the cell graph compresses each architecture
 * to `dim` numbers and an MLP decoder must recover the op at every position from them
 * (per-position softmax cross-entropy). The adjacency is fixed within NB201 and FBNet, so the ops
 * are what there is to reconstruct. Memoised per space: every predictor of a process shares it.
 */
const memo = new Map<string, Promise<number[][]>>();

export function gaeEmbedding(tf: TF, data: LatencyData, o: { dim?: number; epochs?: number; seed?: number } = {}): Promise<number[][]> {
  const key = `${data.space}:${JSON.stringify(o)}`;
  if (!memo.has(key)) memo.set(key, train(tf, data, o.dim ?? 16, o.epochs ?? 4, o.seed ?? 1));
  return memo.get(key)!;
}

async function train(tf: TF, data: LatencyData, dim: number, epochs: number, seed: number): Promise<number[][]> {
  const enc = encode(data, 'onehot');
  const encoder = new Trunk(tf, { trunk: 'gnn', hidden: 32, features: dim, opEmbedding: 0, seed }, enc, graphOf(data));
  const decoder = new ParamStore(tf, seed + 3);
  decoder.dense('d1', dim, 64);
  decoder.dense('d2', 64, enc.positions * enc.ops);
  const vars = [...encoder.vars, ...decoder.vars];
  const opt = tf.train.adam(3e-3);
  const rng = new Rng(seed);
  const N = data.ops.length;
  for (let e = 0; e < epochs; e++) {
    const order = rng.shuffle([...Array(N).keys()]);
    for (let s = 0; s < N; s += 256) {
      const rows = order.slice(s, s + 256);
      const labels = new Float32Array(rows.length * enc.dim);
      rows.forEach((r, i) => labels.set(enc.x.subarray(r * enc.dim, (r + 1) * enc.dim), i * enc.dim));
      opt.minimize(() => {
        const logits = decoder.apply('d2', tf.relu(decoder.apply('d1', encoder.forward(rows))));
        const flat = logits.reshape([rows.length * enc.positions, enc.ops]);
        return tf.losses.softmaxCrossEntropy(tf.tensor2d(labels, [rows.length * enc.positions, enc.ops]), flat) as tfType.Scalar;
      }, false, vars);
    }
  }
  opt.dispose();
  const out: number[][] = [];
  for (let s = 0; s < N; s += 2048) {
    const rows = Array.from({ length: Math.min(2048, N - s) }, (_, i) => s + i);
    const z = tf.tidy(() => encoder.forward(rows)).arraySync() as number[][];
    out.push(...z);
  }
  encoder.dispose();
  decoder.dispose();
  return out;
}

/** `encode`, training the graph-autoencoder first when the encoding needs it */
export async function encodeAsync(tf: TF, data: LatencyData, name: string): Promise<Encoded> {
  return encode(data, name, name === 'onehot+gae' ? await gaeEmbedding(tf, data) : undefined);
}
