import type * as tfType from '@tensorflow/tfjs';
import type { LatencyData } from '../data/latency.js';
import { Rng } from '../util/random.js';
import { analyticCosts, encode, graphOf } from './encoding.js';
import { ParamStore, Trunk } from './model.js';
import { zScores } from './predictor.js';

type TF = typeof tfType;

/** FLOPs alone as the latency ranking (standardised log MACs; FBNet: the proxy table's FLOPs). */
export function flopsRanking(data: LatencyData): Float64Array {
  return Float64Array.from(analyticCosts(data), (r) => r[0]!);
}

/**
 * BRP-NAS-style baseline: a GCN trained from scratch on the target device only, from the same
 * measured samples (or a larger budget such as 900), no pretraining on other devices.
 */
export async function targetOnlyGcn(tf: TF, data: LatencyData, rows: number[], latencyMs: number[], seed: number, steps = 300): Promise<Float64Array> {
  const enc = encode(data, 'onehot');
  const trunk = new Trunk(tf, { trunk: 'gnn', hidden: 64, features: 32, opEmbedding: 0, seed }, enc, graphOf(data));
  const head = new ParamStore(tf, seed + 1);
  head.dense('out', 32, 1);
  const vars = [...trunk.vars, ...head.vars];
  const z = zScores(Float64Array.from(latencyMs)).z;
  const rng = new Rng(seed);
  const opt = tf.train.adam(3e-3);
  const batch = Math.min(rows.length, 128);
  for (let s = 0; s < steps; s++) {
    const pick = rows.length <= batch ? rows.map((_, i) => i) : Array.from({ length: batch }, () => rng.int(0, rows.length - 1));
    opt.minimize(() => {
      const out = head.apply('out', tf.relu(trunk.forward(pick.map((i) => rows[i]!))));
      return tf.mean(tf.square(tf.sub(out, tf.tensor2d(Float32Array.from(pick, (i) => z[i]!), [pick.length, 1])))) as tfType.Scalar;
    }, false, vars);
  }
  opt.dispose();
  const N = data.ops.length;
  const pred = new Float64Array(N);
  for (let s = 0; s < N; s += 2048) {
    const r = Array.from({ length: Math.min(2048, N - s) }, (_, i) => s + i);
    const v = tf.tidy(() => head.apply('out', tf.relu(trunk.forward(r)))).dataSync();
    r.forEach((a, i) => (pred[a] = v[i]!));
  }
  trunk.dispose();
  head.dispose();
  return pred;
}
