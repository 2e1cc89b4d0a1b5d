import { GraphBuilder, type Activation, type Tensor } from '../ir/graph.js';
import { common, int, spec, str, type ModuleDef, type Params, type ParamSpec } from './types.js';

/**
 * Modules that are one elementwise/normalising op over an NCHW tensor: they share the image
 * parameters and differ only in the op applied, so each is one line here.
 */
const imageParams = (): ParamSpec[] => [common.batch, common.hw(), common.channels('c', 'channels', { min: 8, max: 512, step: 8, log: true })];

function imageOp(name: string, description: string, extra: ParamSpec[], apply: (b: GraphBuilder, x: Tensor, p: Params) => Tensor): ModuleDef {
  return {
    name,
    description,
    params: [...imageParams(), ...extra],
    build(p, seed, withWeights) {
      const b = new GraphBuilder(name, seed, withWeights);
      const x = b.input('x', [int(p, 'batch'), int(p, 'c'), int(p, 'hw'), int(p, 'hw')]);
      b.output(apply(b, x, p));
      return b.build();
    },
  };
}

export const batchnorm = imageOp('batchnorm', 'BatchNormalization (inference)', [], (b, x) => b.batchNorm(x));

export const activation = imageOp(
  'activation',
  'Activation: ReLU, ReLU6 (Clip), Sigmoid, HardSwish, GELU',
  [spec.choice('act', 'activation', ['relu', 'relu6', 'sigmoid', 'hswish', 'gelu'])],
  (b, x, p) => b.act(x, str<Activation>(p, 'act')),
);

export const add = imageOp('add', 'Elementwise Add of two tensors (residual)', [], (b, x, p) =>
  b.add(x, b.input('y', [int(p, 'batch'), int(p, 'c'), int(p, 'hw'), int(p, 'hw')])),
);

export const concat: ModuleDef = {
  name: 'concat',
  description: 'Concat of n tensors along channels',
  params: [...imageParams(), spec.int('inputs', 'number of tensors concatenated', [2, 3, 4])],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('concat', seed, withWeights);
    const shape = [int(p, 'batch'), int(p, 'c'), int(p, 'hw'), int(p, 'hw')];
    const xs = Array.from({ length: int(p, 'inputs') }, (_, i) => b.input(`x${i}`, shape));
    b.output(b.concat(xs, 1));
    return b.build();
  },
};

export const softmax: ModuleDef = {
  name: 'softmax',
  description: 'Softmax over the last axis of [batch, rows, cols] (attention scores)',
  params: [
    spec.int('batch', 'batch (× heads)', { min: 1, max: 64, log: true }),
    spec.int('rows', 'rows', { min: 8, max: 512, step: 8, log: true }),
    spec.int('cols', 'softmax length', { min: 8, max: 1024, step: 8, log: true }),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('softmax', seed, withWeights);
    b.output(b.softmax(b.input('x', [int(p, 'batch'), int(p, 'rows'), int(p, 'cols')]), -1));
    return b.build();
  },
};

export const layernorm: ModuleDef = {
  name: 'layernorm',
  description: 'LayerNormalization over the hidden axis of [batch, seq, hidden]',
  params: [
    spec.int('batch', 'batch size', [1, 2, 4, 8]),
    spec.int('seq', 'sequence length', { min: 1, max: 512, log: true }),
    spec.int('hidden', 'hidden size', { min: 32, max: 1024, step: 32, log: true }),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('layernorm', seed, withWeights);
    b.output(b.layerNorm(b.input('x', [int(p, 'batch'), int(p, 'seq'), int(p, 'hidden')])));
    return b.build();
  },
};
