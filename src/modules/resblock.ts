import { GraphBuilder } from '../ir/graph.js';
import { common, int, spec, type ModuleDef } from './types.js';

/** ResNet basic block: two 3×3 conv-BN, ReLU, identity or 1×1 projection shortcut. */
export const resblock: ModuleDef = {
  name: 'resblock',
  description: 'ResNet basic block (3×3 conv-BN-ReLU ×2 + shortcut)',
  params: [
    spec.int('batch', 'batch size', [1, 2, 4]),
    common.hw({ min: 7, max: 56, log: true }),
    common.channels('cin', 'input channels', { min: 16, max: 256, step: 16, log: true }),
    common.channels('cout', 'output channels', { min: 16, max: 256, step: 16, log: true }),
    spec.int('stride', 'stride of the first conv', [1, 2]),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('resblock', seed, withWeights);
    const cin = int(p, 'cin');
    const cout = int(p, 'cout');
    const stride = int(p, 'stride');
    const x = b.input('x', [int(p, 'batch'), cin, int(p, 'hw'), int(p, 'hw')]);
    let y = b.act(b.batchNorm(b.conv(x, { cout, k: 3, stride, bias: false })), 'relu');
    y = b.batchNorm(b.conv(y, { cout, k: 3, bias: false }));
    const skip = stride === 1 && cin === cout ? x : b.batchNorm(b.conv(x, { cout, k: 1, stride, bias: false }));
    b.output(b.act(b.add(y, skip), 'relu'));
    return b.build();
  },
};
