import { GraphBuilder } from '../ir/graph.js';
import { common, int, type ModuleDef } from './types.js';

export const pwconv: ModuleDef = {
  name: 'pwconv',
  description: 'Pointwise (1×1) conv2d',
  params: [
    common.batch,
    common.hw(),
    common.channels('cin', 'input channels', { min: 8, max: 512, step: 8, log: true }),
    common.channels('cout', 'output channels', { min: 8, max: 512, step: 8, log: true }),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('pwconv', seed, withWeights);
    const x = b.input('x', [int(p, 'batch'), int(p, 'cin'), int(p, 'hw'), int(p, 'hw')]);
    b.output(b.conv(x, { cout: int(p, 'cout'), k: 1 }));
    return b.build();
  },
};
