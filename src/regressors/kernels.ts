import type { Graph } from '../ir/graph.js';
import type { HardwareFacts } from '../runtimes/hardware.js';

/**
 * Which kernel onnxruntime's CPU EP runs for each node of a module graph, and the work it does
 * there. The rules follow onnxruntime's NCHWc transformer (graph optimisation 'all' on x86): a
 * Conv runs as an NCHWc convolution with output channels padded to the block (16 floats on
 * AVX-512) when
 * - group = 1 and (input channels < block, read straight from NCHW, or a multiple of block), or
 * - depthwise with channels a multiple of block, or
 * - grouped with input channels and channels per group multiples of block;
 * otherwise it runs as im2col + SGEMM (1×1 stride-1 convs skip the im2col). MatMul/Gemm run as
 * SGEMM with the output columns packed in panels of the vector width.
 * The features are log1p of these work totals, so a regressor sees the algorithm switch.
 */
export const GRAPH_KERNEL_FEATURES = [
  'nchwc_macs', 'nchwc_reorder_bytes', 'im2col_macs', 'im2col_bytes', 'gemm_conv_macs', 'depthwise_macs', 'matmul_padded_macs', 'nchwc_convs', 'other_convs',
] as const;

const roundUp = (v: number, b: number) => (b > 0 ? Math.ceil(v / b) * b : v);

export function graphKernelWork(g: Graph, hw: HardwareFacts): Record<(typeof GRAPH_KERNEL_FEATURES)[number], number> {
  const w = { nchwc_macs: 0, nchwc_reorder_bytes: 0, im2col_macs: 0, im2col_bytes: 0, gemm_conv_macs: 0, depthwise_macs: 0, matmul_padded_macs: 0, nchwc_convs: 0, other_convs: 0 };
  const B = hw.nchwcBlock;
  for (const n of g.nodes) {
    if (n.op === 'Conv') {
      const [batch, cin] = g.shapes.get(n.inputs[0]!)!;
      const [, cout, oh, ow] = g.shapes.get(n.outputs[0]!)!;
      const k = (n.attrs.kernel_shape as number[])[0]!;
      const stride = (n.attrs.strides as number[])[0]!;
      const groups = Number(n.attrs.group ?? 1);
      const depthwise = groups > 1 && groups === cin && cin === cout;
      const spatial = batch! * oh! * ow!;
      const nchwc =
        B > 0 &&
        (groups === 1
          ? cin! < B || cin! % B === 0
          : cout! % B === 0 && (depthwise || (cin! % B === 0 && (cout! / groups) % B === 0)));
      if (depthwise) w.depthwise_macs += spatial * roundUp(cout!, B || 1) * k * k;
      if (nchwc) {
        w.nchwc_convs++;
        w.nchwc_macs += spatial * roundUp(cout!, B) * (cin! / groups) * k * k;
        const [, , ih, iw] = g.shapes.get(n.inputs[0]!)!;
        w.nchwc_reorder_bytes += 4 * (batch! * roundUp(cin!, B) * ih! * iw! + spatial * roundUp(cout!, B));
      } else {
        w.other_convs++;
        const macs = spatial * cout! * (cin! / groups) * k * k;
        if (k === 1 && stride === 1) w.gemm_conv_macs += macs;
        else {
          w.im2col_macs += macs;
          w.im2col_bytes += 4 * spatial * (cin! / groups) * k * k;
        }
      }
    } else if (n.op === 'MatMul' || n.op === 'Gemm') {
      const a = g.shapes.get(n.inputs[0]!)!;
      const out = g.shapes.get(n.outputs[0]!)!;
      const kdim = a[a.length - 1]!;
      const cols = out[out.length - 1]!;
      const rows = out.slice(0, -1).reduce((x, y) => x * y, 1);
      w.matmul_padded_macs += rows * kdim * roundUp(cols, hw.simdFloats);
    }
  }
  return w;
}
