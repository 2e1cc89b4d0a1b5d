import { GraphBuilder } from '../ir/graph.js';
import { UserError } from '../util/errors.js';
import { int, spec, type ModuleDef } from './types.js';

/** Multi-head self-attention: QKV projections, scaled dot-product per head, output projection. */
export const mhsa: ModuleDef = {
  name: 'mhsa',
  description: 'Multi-head self-attention block (QKV, softmax(QKᵀ/√d)V, output projection)',
  params: [
    spec.int('batch', 'batch size', [1, 2, 4]),
    spec.int('seq', 'sequence length', { min: 8, max: 256, step: 8, log: true }),
    spec.int('hidden', 'hidden size', [64, 128, 192, 256, 384, 512]),
    spec.int('heads', 'attention heads (must divide hidden)', [1, 2, 4, 8]),
  ],
  build(p, seed, withWeights) {
    const [bt, seq, hidden, heads] = [int(p, 'batch'), int(p, 'seq'), int(p, 'hidden'), int(p, 'heads')];
    if (hidden % heads !== 0) throw new UserError(`hidden ${hidden} is not divisible by heads ${heads}`, 'heads');
    const d = hidden / heads;
    const b = new GraphBuilder('mhsa', seed, withWeights);
    const x = b.input('x', [bt, seq, hidden]);
    const split = (t: ReturnType<typeof b.input>) => b.transpose(b.reshape(t, [bt, seq, heads, d]), [0, 2, 1, 3]);
    const q = split(b.linear(x, hidden));
    const kT = b.transpose(b.reshape(b.linear(x, hidden), [bt, seq, heads, d]), [0, 2, 3, 1]);
    const v = split(b.linear(x, hidden));
    const scores = b.mul(b.matmul(q, kT), b.constTensor(1 / Math.sqrt(d)));
    const ctx = b.matmul(b.softmax(scores, -1), v);
    const merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [bt, seq, hidden]);
    b.output(b.linear(merged, hidden));
    return b.build();
  },
};
