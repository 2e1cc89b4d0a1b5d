import { GraphBuilder } from '../ir/graph.js';
import { int, spec, type ModuleDef } from './types.js';

/** Linear layer over the last axis of [batch, rows, in]; rows = 1 is a plain 2-D Gemm. */
export const linear: ModuleDef = {
  name: 'linear',
  description: 'Linear / Gemm layer, batched over rows (tokens)',
  params: [
    spec.int('batch', 'batch size', [1, 2, 4, 8, 16, 32]),
    spec.int('rows', 'rows per batch item (tokens); 1 gives a 2-D Gemm', [1, 1, 16, 64, 128]),
    spec.int('in', 'input features', { min: 16, max: 2048, step: 16, log: true }),
    spec.int('out', 'output features', { min: 16, max: 2048, step: 16, log: true }),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('linear', seed, withWeights);
    const rows = int(p, 'rows');
    const shape = rows === 1 ? [int(p, 'batch'), int(p, 'in')] : [int(p, 'batch'), rows, int(p, 'in')];
    b.output(b.linear(b.input('x', shape), int(p, 'out')));
    return b.build();
  },
};

/** Batched MatMul of two activations, as in attention scores. */
export const matmul: ModuleDef = {
  name: 'matmul',
  description: 'Batched MatMul of two activations [batch, m, k] · [batch, k, n]',
  params: [
    spec.int('batch', 'batch (e.g. batch × heads)', { min: 1, max: 64, log: true }),
    spec.int('m', 'rows of A', { min: 8, max: 512, step: 8, log: true }),
    spec.int('k', 'shared dimension', { min: 8, max: 512, step: 8, log: true }),
    spec.int('n', 'columns of B', { min: 8, max: 512, step: 8, log: true }),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('matmul', seed, withWeights);
    const bt = int(p, 'batch');
    const a = b.input('a', [bt, int(p, 'm'), int(p, 'k')]);
    const c = b.input('b', [bt, int(p, 'k'), int(p, 'n')]);
    b.output(b.matmul(a, c));
    return b.build();
  },
};
