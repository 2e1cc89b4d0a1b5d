import type { Activation, GraphBuilder, Tensor } from '../ir/graph.js';
import type { Rng } from '../util/random.js';

/** Building blocks shared by the generated families (exported graphs keep BN unfused, as exporters do). */

export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;

/** a channel count scaled by a width multiplier, rounded to a multiple of 8 as the real families do */
export const width = (c: number, mult: number, divisor = 8) => Math.max(divisor, Math.round((c * mult) / divisor) * divisor);

export function convBnAct(b: GraphBuilder, x: Tensor, cout: number, k: number, stride = 1, act: Activation = 'relu', groups = 1): Tensor {
  return b.act(b.batchNorm(b.conv(x, { cout, k, stride, groups, bias: false })), act);
}

/** swish / SiLU written as exporters write it: x · sigmoid(x) */
export const swish = (b: GraphBuilder, x: Tensor) => b.mul(x, b.act(x, 'sigmoid'));

/** squeeze-excite: global pool → 1×1 reduce → act → 1×1 expand → gate → scale */
export function squeezeExcite(b: GraphBuilder, x: Tensor, reduced: number, gate: 'sigmoid' | 'hsigmoid', act: Activation | 'swish' = 'relu'): Tensor {
  const c = x.shape[1]!;
  let s = b.conv(b.globalAvgPool(x), { cout: reduced, k: 1 });
  s = act === 'swish' ? swish(b, s) : b.act(s, act);
  s = b.conv(s, { cout: c, k: 1 });
  return b.mul(x, gate === 'sigmoid' ? b.act(s, 'sigmoid') : b.hardSigmoid(s));
}

/** global average pool → flatten → linear classifier */
export function classifier(b: GraphBuilder, x: Tensor, classes: number): Tensor {
  const p = b.globalAvgPool(x);
  return b.linear(b.reshape(p, [p.shape[0]!, p.shape[1]!]), classes);
}

/** a convolution's stride: one for both axes, or [height, width] (text lines halve the height only) */
export type Stride = number | readonly [number, number];

/** a stage's strides: the first block downsamples when the stage does */
export const strides = <S extends Stride>(blocks: number, stride: S): Array<S | 1> => Array.from({ length: blocks }, (_, i) => (i === 0 ? stride : 1));
