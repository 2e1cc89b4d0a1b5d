import { GraphBuilder, type Padding } from '../ir/graph.js';
import { convInOut, int, spec, str, type ModuleDef } from './types.js';

export const conv2d: ModuleDef = {
  name: 'conv2d',
  description: 'Conv2d with any kernel, stride, padding and groups (groups = channels gives depthwise)',
  params: [
    ...convInOut(),
    spec.int('k', 'kernel size', [1, 3, 5, 7]),
    spec.int('stride', 'stride', [1, 2]),
    spec.int('groups', 'groups (must divide cin and cout)', [1, 1, 1, 2, 4, 8]),
    spec.choice('pad', "padding: 'same' or 'valid'", ['same', 'valid'], ['same', 'same', 'same', 'valid']),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('conv2d', seed, withWeights);
    const x = b.input('x', [int(p, 'batch'), int(p, 'cin'), int(p, 'hw'), int(p, 'hw')]);
    b.output(b.conv(x, { cout: int(p, 'cout'), k: int(p, 'k'), stride: int(p, 'stride'), groups: int(p, 'groups'), pad: str<Padding & string>(p, 'pad') }));
    return b.build();
  },
};
