import { GraphBuilder } from '../ir/graph.js';
import { common, int, spec, type ModuleDef } from './types.js';

export const dwconv: ModuleDef = {
  name: 'dwconv',
  description: 'Depthwise conv2d (groups = channels), same padding',
  params: [
    common.batch,
    common.hw(),
    common.channels('c', 'channels', { min: 8, max: 512, step: 8, log: true }),
    spec.int('k', 'kernel size', [3, 5, 7]),
    spec.int('stride', 'stride', [1, 2]),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('dwconv', seed, withWeights);
    const c = int(p, 'c');
    const x = b.input('x', [int(p, 'batch'), c, int(p, 'hw'), int(p, 'hw')]);
    b.output(b.conv(x, { cout: c, k: int(p, 'k'), stride: int(p, 'stride'), groups: c }));
    return b.build();
  },
};
