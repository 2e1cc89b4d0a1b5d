import type { Graph } from '../ir/graph.js';
import { convRunsNchwc, type HardwareFacts } from '../runtimes/hardware.js';

/**
 * Which kernel onnxruntime's CPU EP runs for each node of a module graph, and the work it does
 * there. The rules follow onnxruntime's NCHWc transformer (graph optimisation 'all' on x86): a
 * Conv runs as an NCHWc convolution with output channels padded to the block (16 floats on
 * AVX-512) where `convRunsNchwc` says so; otherwise it runs as im2col + SGEMM (1×1 stride-1
 * convs skip the im2col). MatMul/Gemm run as SGEMM with the output columns packed in panels of the
 * vector width.
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
      const nchwc = convRunsNchwc(cin!, cout!, groups, B);
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

/**
 * The loop nest of MLAS's convolution kernels as onnxruntime's CPU EP runs them on one thread
 * (onnxruntime/core/mlas/lib/snchwc.cpp): work totals an additive cost model can put a price on.
 * - NCHWc k×k: output channels go in filter sets of up to 4 blocks; one kernel call per filter set,
 *   output row and input-channel block, each re-reading and re-writing its output row; inside, per
 *   output and kernel tap, a broadcast of each input channel and one vector FMA per filter block;
 *   outputs that touch the left/right padding take a slower, bounds-checked path.
 * - NCHWc 1×1 without padding (the pointwise kernel): input channels in chunks of 128, all output
 *   rows in one call at stride 1.
 * - depthwise: one call per channel block and output row, one vector FMA per output and tap.
 * - everything else: im2col (not for 1×1 stride 1) and SGEMM per group, N packed in panels of 16.
 */
export const MLAS_CONV_WORK = [
  'calls', 'vec_fma', 'bcast', 'out_traffic', 'filter_traffic', 'pad_outputs',
  'pw_calls', 'pw_vec_fma', 'pw_bcast', 'pw_out_traffic', 'dw_calls', 'dw_vec_fma',
  'im2col_bytes', 'gemm_macs', 'gemm_calls', 'gemm_pack_bytes',
] as const;

/** the pointwise kernel's input-channel chunk (ICSTRIDE) and the filter blocks per kernel call (kbatch) */
const POINTWISE_CHUNK = 128;
const FILTER_SET = 4;
/** SGEMM packs the im2col matrix in panels of 16 columns */
const GEMM_PANEL = 16;

export function mlasConvWork(g: Graph, hw: HardwareFacts): Record<(typeof MLAS_CONV_WORK)[number], number> {
  const w = Object.fromEntries(MLAS_CONV_WORK.map((f) => [f, 0])) as Record<(typeof MLAS_CONV_WORK)[number], number>;
  const B = hw.nchwcBlock;
  for (const n of g.nodes) {
    if (n.op !== 'Conv') continue;
    const [N, C, H] = g.shapes.get(n.inputs[0]!)! as number[];
    const [, K, oh, ow] = g.shapes.get(n.outputs[0]!)! as number[];
    const k = (n.attrs.kernel_shape as number[])[0]!;
    const s = (n.attrs.strides as number[])[0]!;
    const pad = ((n.attrs.pads as number[] | undefined) ?? [0])[0]!;
    const groups = Number(n.attrs.group ?? 1);
    const [cg, kg] = [C! / groups, K! / groups];
    const depthwise = groups > 1 && groups === C && C === K;
    const nchwc = convRunsNchwc(C!, K!, groups, B);
    const rows = N! * oh!;
    if (!nchwc) {
      if (!(k === 1 && s === 1)) w.im2col_bytes += 4 * N! * groups * oh! * ow! * cg * k * k;
      const cols = roundUp(oh! * ow!, GEMM_PANEL);
      w.gemm_macs += N! * groups * kg * cols * cg * k * k;
      w.gemm_calls += N! * groups;
      w.gemm_pack_bytes += 4 * N! * groups * cg * k * k * cols;
    } else if (depthwise) {
      w.dw_calls += rows * Math.ceil(C! / B);
      w.dw_vec_fma += rows * Math.ceil(C! / B) * ow! * k * k;
    } else {
      const kBlocks = Math.ceil(kg / B);
      const sets = Math.ceil(kBlocks / FILTER_SET);
      if (k === 1 && pad === 0) {
        const chunks = Math.ceil(cg / POINTWISE_CHUNK);
        w.pw_calls += N! * groups * sets * (s === 1 ? 1 : oh!) * chunks;
        w.pw_vec_fma += rows * groups * kBlocks * ow! * cg;
        w.pw_bcast += rows * groups * sets * ow! * cg;
        w.pw_out_traffic += rows * groups * kBlocks * B * ow! * chunks;
      } else {
        const cBlocks = Math.ceil(cg / B);
        // outputs along x that read the left / right padding (MlasPrepareNchwcWorkBlock)
        const inner = H! >= k ? Math.floor((H! - k) / s) + 1 : 0;
        let left = (H! + pad >= k ? Math.floor((H! + pad - k) / s) + 1 : ow!) - inner;
        let count = inner;
        if (left === 0 && pad > 0) [left, count] = [1, count - 1];
        const edge = left + (ow! - left - count);
        const calls = rows * groups * sets * cBlocks;
        w.calls += calls;
        w.vec_fma += rows * groups * kBlocks * ow! * cBlocks * B * k * k;
        w.bcast += calls * ow! * B * k * k;
        w.out_traffic += rows * groups * kBlocks * B * ow! * cBlocks;
        w.filter_traffic += rows * groups * kBlocks * cBlocks * B * B * k * k;
        w.pad_outputs += calls * edge * B * k * k;
      }
    }
  }
  return w;
}
