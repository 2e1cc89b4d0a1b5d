import { GraphBuilder, type Graph } from '../ir/graph.js';
import { classifier, convBnAct, strides } from './blocks.js';

/**
 * Two reference ImageNet classifiers with the published layer shapes (random weights): what a user
 * brings to `cache serve`. ResNet-18: 7×7 stem, 4 stages of 2 basic blocks (64–512 channels).
 * MobileNetV2 (width 1.0): the paper's (expansion, channels, blocks, stride) table, 1280-wide head.
 */
export function resnet18(classes = 1000, res = 224, seed = 18): Graph {
  const b = new GraphBuilder('resnet18', seed);
  let y = convBnAct(b, b.input('input', [1, 3, res, res]), 64, 7, 2);
  y = b.maxPool(y, 3, 2, 1);
  [64, 128, 256, 512].forEach((c, si) => {
    for (const s of strides(2, si === 0 ? 1 : 2)) {
      const r = b.batchNorm(b.conv(convBnAct(b, y, c, 3, s), { cout: c, k: 3, bias: false }));
      const skip = s !== 1 || y.shape[1] !== c ? b.batchNorm(b.conv(y, { cout: c, k: 1, stride: s, bias: false })) : y;
      y = b.act(b.add(r, skip), 'relu');
    }
  });
  b.output(classifier(b, y, classes));
  return b.build();
}

const MOBILENETV2: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export function mobilenetV2(classes = 1000, res = 224, seed = 2): Graph {
  const b = new GraphBuilder('mobilenetv2', seed);
  let y = convBnAct(b, b.input('input', [1, 3, res, res]), 32, 3, 2, 'relu6');
  for (const [e, c, n, stride] of MOBILENETV2) {
    for (const s of strides(n, stride)) {
      const cin = y.shape[1]!;
      let r = e === 1 ? y : convBnAct(b, y, cin * e, 1, 1, 'relu6');
      r = convBnAct(b, r, cin * e, 3, s, 'relu6', cin * e);
      r = b.batchNorm(b.conv(r, { cout: c, k: 1, bias: false }));
      y = s === 1 && cin === c ? b.add(y, r) : r;
    }
  }
  y = convBnAct(b, y, 1280, 1, 1, 'relu6');
  b.output(classifier(b, y, classes));
  return b.build();
}
