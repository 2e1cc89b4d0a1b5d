import { GraphBuilder } from '../ir/graph.js';
import { common, int, spec, type ModuleDef } from './types.js';

/**
 * The decoder's upsampling layer (segmentation and detection heads such as PP-OCR's DB head, U-Nets,
 * generators). onnxruntime's CPU EP runs it as a GEMM into a column buffer followed by col2im, not
 * through the NCHWc convolutions, so its cost is not a convolution's of the same FLOPs; before this
 * module whole-model prediction priced it with the roofline, 1.6–2.5× too high on PP-OCRv4 det.
 */
export const convtranspose: ModuleDef = {
  name: 'convtranspose',
  description: 'ConvTranspose upsampling by exactly the stride (2×2/2, 3×3/2, 4×4/2; odd kernels at stride 1); hw is the input size',
  params: [
    common.batch,
    common.hw({ min: 4, max: 112, log: true }),
    common.channels('cin', 'input channels'),
    common.channels('cout', 'output channels'),
    spec.int('k', 'kernel size (stride 1 needs an odd one)', [2, 2, 3, 4]),
    spec.int('stride', 'stride = upsampling factor', [2, 2, 2, 1]),
    spec.int('groups', 'groups (must divide cin and cout)', [1]),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('convtranspose', seed, withWeights);
    const x = b.input('x', [int(p, 'batch'), int(p, 'cin'), int(p, 'hw'), int(p, 'hw')]);
    b.output(b.convTranspose(x, { cout: int(p, 'cout'), k: int(p, 'k'), stride: int(p, 'stride'), groups: int(p, 'groups') }));
    return b.build();
  },
};
