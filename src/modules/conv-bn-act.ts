import { GraphBuilder, type Activation } from '../ir/graph.js';
import { convInOut, int, spec, str, type ModuleDef } from './types.js';

export const convBnAct: ModuleDef = {
  name: 'conv-bn-act',
  description: 'Conv2d → BatchNorm → ReLU/ReLU6/HardSwish, the block runtimes fuse into one kernel',
  params: [
    ...convInOut(),
    spec.int('k', 'kernel size', [1, 3, 5]),
    spec.int('stride', 'stride', [1, 2]),
    spec.choice('act', 'activation', ['relu', 'relu6', 'hswish']),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('conv-bn-act', seed, withWeights);
    const x = b.input('x', [int(p, 'batch'), int(p, 'cin'), int(p, 'hw'), int(p, 'hw')]);
    const y = b.conv(x, { cout: int(p, 'cout'), k: int(p, 'k'), stride: int(p, 'stride'), bias: false });
    b.output(b.act(b.batchNorm(y), str<Activation>(p, 'act')));
    return b.build();
  },
};
