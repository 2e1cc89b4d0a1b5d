import { GraphBuilder } from '../ir/graph.js';
import { common, int, spec, type ModuleDef, type ParamSpec } from './types.js';

const imageParams = (): ParamSpec[] => [common.batch, common.hw(), common.channels('c', 'channels', { min: 8, max: 512, step: 8, log: true })];

function windowPool(kind: 'max' | 'avg'): ModuleDef {
  return {
    name: `${kind}pool`,
    description: `${kind === 'max' ? 'MaxPool' : 'AveragePool'} with a k×k window`,
    params: [...imageParams(), spec.int('k', 'window', [2, 3]), spec.int('stride', 'stride', [1, 2])],
    build(p, seed, withWeights) {
      const b = new GraphBuilder(`${kind}pool`, seed, withWeights);
      const x = b.input('x', [int(p, 'batch'), int(p, 'c'), int(p, 'hw'), int(p, 'hw')]);
      const k = int(p, 'k');
      const stride = int(p, 'stride');
      b.output(kind === 'max' ? b.maxPool(x, k, stride) : b.avgPool(x, k, stride));
      return b.build();
    },
  };
}

export const maxpool = windowPool('max');
export const avgpool = windowPool('avg');

export const globalavgpool: ModuleDef = {
  name: 'globalavgpool',
  description: 'GlobalAveragePool over H×W',
  params: imageParams(),
  build(p, seed, withWeights) {
    const b = new GraphBuilder('globalavgpool', seed, withWeights);
    b.output(b.globalAvgPool(b.input('x', [int(p, 'batch'), int(p, 'c'), int(p, 'hw'), int(p, 'hw')])));
    return b.build();
  },
};
