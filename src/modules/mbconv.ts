import { GraphBuilder, type Activation } from '../ir/graph.js';
import { common, int, spec, str, type ModuleDef } from './types.js';

/** MobileNetV2 inverted residual: 1×1 expand → k×k depthwise → 1×1 project (+ skip when shapes allow). */
export const mbconv: ModuleDef = {
  name: 'mbconv',
  description: 'MobileNetV2 inverted residual block (expand, depthwise, project, residual)',
  params: [
    spec.int('batch', 'batch size', [1, 2, 4]),
    common.hw({ min: 7, max: 56, log: true }),
    common.channels('cin', 'input channels', { min: 16, max: 160, step: 8, log: true }),
    common.channels('cout', 'output channels', { min: 16, max: 160, step: 8, log: true }),
    spec.int('expansion', 'expansion ratio', [1, 3, 4, 6]),
    spec.int('k', 'depthwise kernel', [3, 5, 7]),
    spec.int('stride', 'stride', [1, 2]),
    spec.choice('act', 'activation', ['relu6', 'hswish']),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('mbconv', seed, withWeights);
    const cin = int(p, 'cin');
    const cout = int(p, 'cout');
    const stride = int(p, 'stride');
    const act = str<Activation>(p, 'act');
    const mid = cin * int(p, 'expansion');
    const x = b.input('x', [int(p, 'batch'), cin, int(p, 'hw'), int(p, 'hw')]);
    let y = x;
    if (mid !== cin) y = b.act(b.batchNorm(b.conv(y, { cout: mid, k: 1, bias: false })), act);
    y = b.act(b.batchNorm(b.conv(y, { cout: mid, k: int(p, 'k'), stride, groups: mid, bias: false })), act);
    y = b.batchNorm(b.conv(y, { cout, k: 1, bias: false }));
    b.output(stride === 1 && cin === cout ? b.add(x, y) : y);
    return b.build();
  },
};
