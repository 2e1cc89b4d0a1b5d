import { FBNET_OPS, NB201_OPS, type LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';

/**
 * Architecture encodings (design axis 4). Every encoding is a dense float matrix, one row per
 * architecture, so the same predictors consume any of them:
 *  - onehot:   one-hot op per position (NB201: 6 edges × 5 ops; FBNet: 22 layers × 9 ops)
 *  - learned:  the same one-hot, marked for a trainable op-embedding layer inside the model
 *  - onehot+flops: one-hot plus analytic log-FLOPs and log-params
 *  - onehot+zcp:   one-hot plus the FBNet zero-cost proxies (FBNet only)
 *  - onehot+gae:   one-hot plus an unsupervised graph-autoencoder embedding (gae.ts), which the
 *                  caller trains first and passes in (see encodeAsync)
 * The graph view (nodes, adjacency) for the GNN comes from `graphOf`.
 */
export const ENCODINGS = ['onehot', 'learned', 'onehot+flops', 'onehot+zcp', 'onehot+gae'] as const;
export type EncodingName = (typeof ENCODINGS)[number];

export interface Encoded {
  name: EncodingName;
  /** rows × dim, row-major */
  x: Float32Array;
  rows: number;
  dim: number;
  /** positions × ops of the one-hot block at the start of each row (for learned op embeddings) */
  positions: number;
  ops: number;
}

export function nOps(data: LatencyData): number {
  return data.space === 'nb201' ? NB201_OPS.length : FBNET_OPS.length;
}

export function encode(data: LatencyData, name: string, gae?: number[][]): Encoded {
  if (!ENCODINGS.includes(name as EncodingName)) throw new UserError(`unknown encoding '${name}', expected one of ${ENCODINGS.join(', ')}`, 'encoding');
  if (name === 'onehot+gae' && !gae) throw new Error('onehot+gae needs the trained embedding: use encodeAsync');
  const ops = nOps(data);
  const positions = data.ops[0]!.length;
  const extra = name === 'onehot+flops' ? analyticCosts(data) : name === 'onehot+zcp' ? proxies(data) : name === 'onehot+gae' ? standardise(gae!) : [];
  const extraDim = extra[0]?.length ?? 0;
  const dim = positions * ops + extraDim;
  const x = new Float32Array(data.ops.length * dim);
  data.ops.forEach((o, r) => {
    for (let p = 0; p < positions; p++) x[r * dim + p * ops + o[p]!] = 1;
    for (let e = 0; e < extraDim; e++) x[r * dim + positions * ops + e] = extra[r]![e]!;
  });
  return { name: name as EncodingName, x, rows: data.ops.length, dim, positions, ops };
}

/**
 * Log MACs and log params of each architecture, standardised.
 * NB201: the macro network is fixed (stem 3→16, three stages of 5 cells at C=16/32/64 on
 * 32/16/8 px), and C²·H·W is the same 262,144 in every stage, so a cell's convolution MACs are
 * 15 cells × 262,144 × (#1×1 + 9·#3×3); params are 5 × (16²+32²+64²) × k² per conv.
 * FBNet: FLOPs and params from the bundled proxy table.
 */
export function analyticCosts(data: LatencyData): number[][] {
  let raw: number[][];
  if (data.space === 'nb201') {
    const conv1 = NB201_OPS.indexOf('nor_conv_1x1');
    const conv3 = NB201_OPS.indexOf('nor_conv_3x3');
    raw = data.ops.map((o) => {
      const k2 = Array.from(o).reduce((s, op) => s + (op === conv1 ? 1 : op === conv3 ? 9 : 0), 0);
      const macs = 15 * 262_144 * k2 + 1e6; // + stem, reductions and classifier (a constant)
      const params = 5 * (16 ** 2 + 32 ** 2 + 64 ** 2) * k2 + 1e4;
      return [Math.log(macs), Math.log(params)];
    });
  } else {
    const names = data.proxies!.names;
    const f = names.indexOf('flops');
    const p = names.indexOf('params');
    raw = data.proxies!.values.map((v) => [Math.log(v[f]!), Math.log(v[p]!)]);
  }
  return standardise(raw);
}

function proxies(data: LatencyData): number[][] {
  if (!data.proxies) throw new UserError(`zero-cost proxies exist for FBNet only, not ${data.space}`, 'encoding');
  // signed log keeps proxies spanning 1e-4..1e31 (synflow) on a usable scale
  return standardise(data.proxies.values.map((v) => Array.from(v, (x) => Math.sign(x) * Math.log1p(Math.abs(x)))));
}

function standardise(rows: number[][]): number[][] {
  const d = rows[0]!.length;
  const n = rows.length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j]!, 0) / n);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  return rows.map((r) => r.map((v, j) => (v - mean[j]!) / sd[j]!));
}

/**
 * Graph view for the GNN: nodes = [input, one node per op position, output], node features =
 * one-hot op type (+ input/output types, + position for FBNet's chain), and the normalised
 * adjacency Â = D^-½ (A + Aᵀ + I) D^-½ shared by every architecture of the space.
 */
export interface GraphView {
  nodes: number;
  featureDim: number;
  /** rows × nodes × featureDim */
  features: Float32Array;
  adjacency: Float32Array;
}

export function graphOf(data: LatencyData): GraphView {
  const ops = nOps(data);
  const positions = data.ops[0]!.length;
  const nodes = positions + 2;
  const usePosition = data.space === 'fbnet';
  const featureDim = ops + 2 + (usePosition ? nodes : 0);
  const features = new Float32Array(data.ops.length * nodes * featureDim);
  data.ops.forEach((o, r) => {
    const base = r * nodes * featureDim;
    features[base + ops] = 1; // input node type
    features[base + (nodes - 1) * featureDim + ops + 1] = 1; // output node type
    for (let p = 0; p < positions; p++) features[base + (p + 1) * featureDim + o[p]!] = 1;
    if (usePosition) for (let n = 0; n < nodes; n++) features[base + n * featureDim + ops + 2 + n] = 1;
  });
  const A = Array.from({ length: nodes }, () => new Array<number>(nodes).fill(0));
  const link = (a: number, b: number) => {
    A[a]![b] = 1;
    A[b]![a] = 1;
  };
  if (data.space === 'nb201') {
    // edge e (0→1, 0→2, 1→2, 0→3, 1→3, 2→3) is op node e+1; cell node j's output feeds edges from j
    const edges: Array<[number, number]> = [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]];
    edges.forEach(([from, to], e) => {
      if (from === 0) link(0, e + 1);
      edges.forEach(([from2], e2) => from2 === to && link(e + 1, e2 + 1));
      if (to === 3) link(e + 1, nodes - 1);
    });
  } else {
    for (let n = 0; n + 1 < nodes; n++) link(n, n + 1);
  }
  for (let i = 0; i < nodes; i++) A[i]![i] = 1;
  const deg = A.map((row) => row.reduce((s, v) => s + v, 0));
  const adjacency = new Float32Array(nodes * nodes);
  for (let i = 0; i < nodes; i++) for (let j = 0; j < nodes; j++) adjacency[i * nodes + j] = A[i]![j]! / Math.sqrt(deg[i]! * deg[j]!);
  return { nodes, featureDim, features, adjacency };
}
