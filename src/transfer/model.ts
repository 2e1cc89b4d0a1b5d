import type * as tfType from '@tensorflow/tfjs';
import { Rng } from '../util/random.js';
import type { Encoded, GraphView } from './encoding.js';

type TF = typeof tfType;
type T2 = tfType.Tensor2D;

/** Design axis 1: the trunk that turns an architecture into a feature vector φ. */
export const TRUNKS = ['mlp', 'gnn'] as const;
export type TrunkName = (typeof TRUNKS)[number];

export interface TrunkConfig {
  trunk: TrunkName;
  hidden: number;
  /** size of φ */
  features: number;
  /** learned op embedding size (encoding 'learned'); 0 = feed the one-hot directly */
  opEmbedding: number;
  seed: number;
}

/** Named tfjs variables with dense-layer helpers; shared by the trunks and the predictor heads. */
export class ParamStore {
  readonly vars: tfType.Variable[] = [];
  private readonly byName = new Map<string, tfType.Variable>();
  private readonly rng: Rng;

  constructor(private readonly tf: TF, seed: number) {
    this.rng = new Rng(seed);
  }

  dense(name: string, fanIn: number, fanOut: number): void {
    this.param(`${name}.w`, [fanIn, fanOut], Math.sqrt(2 / fanIn));
    this.param(`${name}.b`, [fanOut], 0);
  }

  apply(name: string, x: T2): T2 {
    return this.tf.add(this.tf.matMul(x, this.get(`${name}.w`)), this.get(`${name}.b`)) as T2;
  }

  param(name: string, shape: number[], std = 0.1): tfType.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = std * this.rng.normal();
    const v = this.tf.variable(this.tf.tensor(data, shape), true, `${name}_${Math.floor(this.rng.next() * 1e9)}_${ParamStore.counter++}`);
    this.vars.push(v);
    this.byName.set(name, v);
    return v;
  }

  get(name: string): T2 {
    return this.byName.get(name)! as unknown as T2;
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }

  private static counter = 0;
}

/**
 * A small network written with raw tfjs ops and variables (no layers API), so that the same code
 * can be an MLP or a GCN and train on the wasm backend: it avoids `gather` (no gradient kernel on
 * wasm) by multiplying one-hot matrices, and has no convolutions.
 */
export class Trunk {
  readonly params: ParamStore;

  constructor(
    private readonly tf: TF,
    readonly cfg: TrunkConfig,
    private readonly enc: Encoded,
    private readonly graph?: GraphView,
  ) {
    this.params = new ParamStore(tf, cfg.seed);
    const P = this.params;
    if (cfg.trunk === 'mlp') {
      const inDim = cfg.opEmbedding > 0 ? enc.positions * cfg.opEmbedding + (enc.dim - enc.positions * enc.ops) : enc.dim;
      if (cfg.opEmbedding > 0) P.param('emb', [enc.ops, cfg.opEmbedding]);
      P.dense('l1', inDim, cfg.hidden);
      P.dense('l2', cfg.hidden, cfg.hidden);
      P.dense('l3', cfg.hidden, cfg.features);
    } else {
      const g = graph!;
      // created here, outside any tidy scope, so that it outlives every forward pass
      this.adjacency = tf.keep(tf.tensor2d(g.adjacency, [g.nodes, g.nodes]));
      P.dense('g1', g.featureDim, cfg.hidden);
      P.dense('g2', cfg.hidden, cfg.hidden);
      P.dense('g3', cfg.hidden, cfg.hidden);
      // supplementary (non-graph) inputs such as FLOPs join after the readout
      const extra = enc.dim - enc.positions * enc.ops;
      P.dense('r1', cfg.hidden + extra, cfg.features);
    }
  }

  /** φ for a batch of architecture rows (indices into the encoding) */
  forward(rows: Int32Array | number[]): T2 {
    const tf = this.tf;
    const n = rows.length;
    const extraDim = this.enc.dim - this.enc.positions * this.enc.ops;
    if (this.cfg.trunk === 'mlp') {
      let x: T2 = this.rowsOf(this.enc.x, this.enc.dim, rows);
      if (this.cfg.opEmbedding > 0) {
        const oneHot = x.slice([0, 0], [n, this.enc.positions * this.enc.ops]).reshape([n * this.enc.positions, this.enc.ops]) as T2;
        const emb = tf.matMul(oneHot, this.get('emb')).reshape([n, this.enc.positions * this.cfg.opEmbedding]) as T2;
        x = extraDim > 0 ? (tf.concat([emb, x.slice([0, this.enc.positions * this.enc.ops], [n, extraDim])], 1) as T2) : emb;
      }
      const h1 = tf.relu(this.apply('l1', x));
      const h2 = tf.relu(this.apply('l2', h1));
      return this.apply('l3', h2);
    }
    const g = this.graph!;
    const N = g.nodes;
    let h = this.rowsOf(g.features, N * g.featureDim, rows).reshape([n * N, g.featureDim]) as T2;
    for (const layer of ['g1', 'g2', 'g3']) {
      const hw = this.apply(layer, h); // [n·N, hidden]
      h = tf.relu(this.propagate(hw, n)) as T2;
    }
    let readout = tf.mean(h.reshape([n, N, this.cfg.hidden]), 1) as T2;
    if (extraDim > 0) readout = tf.concat([readout, this.rowsOf(this.enc.x, this.enc.dim, rows).slice([0, this.enc.positions * this.enc.ops], [n, extraDim])], 1) as T2;
    return this.apply('r1', readout);
  }

  /** Â·H for every graph of the batch: H is [n·N, F]; Â is shared, so transpose to [N, n·F] once */
  private propagate(h: T2, n: number): T2 {
    const tf = this.tf;
    const N = this.graph!.nodes;
    const F = h.shape[1];
    const A = this.adjacency!;
    const byNode = tf.transpose(h.reshape([n, N, F]), [1, 0, 2]).reshape([N, n * F]) as T2;
    return tf.transpose(tf.matMul(A, byNode).reshape([N, n, F]), [1, 0, 2]).reshape([n * N, F]) as T2;
  }

  private adjacency?: T2;

  get vars(): tfType.Variable[] {
    return this.params.vars;
  }

  private apply(name: string, x: T2): T2 {
    return this.params.apply(name, x);
  }

  private get(name: string): T2 {
    return this.params.get(name);
  }

  private rowsOf(src: Float32Array, dim: number, rows: Int32Array | number[]): T2 {
    const out = new Float32Array(rows.length * dim);
    for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i]! * dim, rows[i]! * dim + dim), i * dim);
    return this.tf.tensor2d(out, [rows.length, dim]);
  }

  dispose(): void {
    this.params.dispose();
    this.adjacency?.dispose();
  }
}
