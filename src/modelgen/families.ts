import { GraphBuilder, type Activation, type Tensor } from '../ir/graph.js';
import type { Rng } from '../util/random.js';
import { classifier, convBnAct, pick, squeezeExcite, strides, swish, width, type Stride } from './blocks.js';

/**
 * Whole networks in the style of real families, with random widths, depths, kernel sizes,
 * expansion ratios and resolutions. Sizes are scaled so that one model runs in ~1–40 ms on one
 * core of the reference machine: large enough to be real networks, small enough to measure
 * hundreds of them.
 */
export interface Family {
  name: string;
  description: string;
  /**
   * Bumped whenever the family's generator changes what a seed builds; it is part of every
   * generated model's name, so stores keyed by name (bench:models measures a model once) never
   * pair a new network with an old one's measurement.
   */
  revision?: number;
  build(rng: Rng, target: BuildTarget): { b: GraphBuilder; config: Record<string, unknown> };
}

/** What a family builds into: the graph's name, and whether to draw weights (false: shapes and costs only) */
export interface BuildTarget {
  name: string;
  withWeights: boolean;
}

/** the one way a family starts its graph: the weights' seed is drawn first, whatever the target */
const newBuilder = (rng: Rng, t: BuildTarget) => new GraphBuilder(t.name, rng.int(1, 1e6), t.withWeights);

const RES = [96, 112, 128, 160, 192, 224];
const CLASSES = [10, 100, 1000];

function image(rng: Rng, target: BuildTarget, resolutions = RES) {
  const res = pick(rng, resolutions);
  const b = newBuilder(rng, target);
  return { b, res, x: b.input('input', [1, 3, res, res]) };
}

export const resnet: Family = {
  name: 'resnet',
  description: 'ResNet with basic or bottleneck blocks, random stage depths and widths',
  build(rng, target) {
    const { b, res, x } = image(rng, target);
    const bottleneck = rng.next() < 0.5;
    const mult = pick(rng, [0.25, 0.375, 0.5, 0.75]);
    const depths = [0, 1, 2, 3].map(() => rng.int(1, bottleneck ? 3 : 3));
    const stem = width(64, mult);
    let y = convBnAct(b, x, stem, pick(rng, [3, 5, 7]), 2);
    y = b.maxPool(y, 3, 2, 1);
    [64, 128, 256, 512].forEach((base, si) => {
      const c = width(base, mult);
      for (const s of strides(depths[si]!, si === 0 ? 1 : 2)) {
        const out = bottleneck ? c * 4 : c;
        let r = bottleneck ? convBnAct(b, y, c, 1) : convBnAct(b, y, c, 3, s);
        r = bottleneck ? b.batchNorm(b.conv(convBnAct(b, r, c, 3, s), { cout: out, k: 1, bias: false })) : b.batchNorm(b.conv(r, { cout: out, k: 3, bias: false }));
        const skip = s !== 1 || y.shape[1] !== out ? b.batchNorm(b.conv(y, { cout: out, k: 1, stride: s, bias: false })) : y;
        y = b.act(b.add(r, skip), 'relu');
      }
    });
    const classes = pick(rng, CLASSES);
    b.output(classifier(b, y, classes));
    return { b, config: { res, bottleneck, mult, depths, classes } };
  },
};

/**
 * Activations of the mobile families: swish as x · sigmoid(x); hard-swish in the three spellings
 * exporters write: the ONNX HardSwish op (PyTorch, opset ≥ 14), x · HardSigmoid(x) (tf2onnx's
 * Keras hard_swish; onnxruntime-node fuses it back into the convolution) and x · Clip(x + 3, 0, 6) / 6
 * (Paddle2ONNX, as in PP-OCRv4 rec and the PP-OCR classifier; four unfused elementwise kernels).
 */
type MobileAct = Activation | 'swish' | 'hswish-mul' | 'hswish-clip';
const HSWISH_FORMS = ['hswish', 'hswish-mul', 'hswish-clip'] as const;
const HSWISH_CONFIG: Record<(typeof HSWISH_FORMS)[number], string> = { hswish: 'op', 'hswish-mul': 'mul-hardsigmoid', 'hswish-clip': 'clip-div' };
function applyAct(b: GraphBuilder, t: Tensor, act: MobileAct): Tensor {
  if (act === 'swish') return swish(b, t);
  if (act === 'hswish-mul') return b.mul(t, b.hardSigmoid(t));
  if (act === 'hswish-clip') return b.hardSwishDecomposed(t);
  return b.act(t, act);
}

const unstrided = (s: Stride) => (typeof s === 'number' ? s === 1 : s[0] === 1 && s[1] === 1);

function invertedResidual(b: GraphBuilder, x: Tensor, cout: number, k: number, stride: Stride, expansion: number, act: MobileAct, se?: { gate: 'sigmoid' | 'hsigmoid'; ratio: number }): Tensor {
  const cin = x.shape[1]!;
  const mid = cin * expansion;
  const a = (t: Tensor) => applyAct(b, t, act);
  let y = x;
  if (expansion !== 1) y = a(b.batchNorm(b.conv(y, { cout: mid, k: 1, bias: false })));
  y = a(b.batchNorm(b.conv(y, { cout: mid, k, stride, groups: mid, bias: false })));
  if (se) y = squeezeExcite(b, y, width(mid * se.ratio, 1), se.gate, act === 'swish' ? 'swish' : 'relu');
  y = b.batchNorm(b.conv(y, { cout, k: 1, bias: false }));
  return unstrided(stride) && cin === cout ? b.add(x, y) : y;
}

/** MobileNetV2 / V3 / EfficientNet share the inverted-residual body; they differ in act, SE, kernels */
function mobileFamily(name: string, description: string, variant: 'v2' | 'v3' | 'eff', revision?: number): Family {
  return {
    name,
    description,
    ...(revision ? { revision } : {}),
    build(rng, target) {
      const { b, res, x } = image(rng, target);
      const mult = pick(rng, [0.35, 0.5, 0.75, 1.0]);
      // V3: each network spells hard-swish one of the exporters' ways (a draw V2/EfficientNet do not make)
      const hswish = variant === 'v3' ? pick(rng, HSWISH_FORMS) : 'hswish';
      const act: MobileAct = variant === 'v2' ? 'relu6' : variant === 'v3' ? hswish : 'swish';
      // (base channels, stride) per stage as in MobileNetV2; depths, kernels, expansions random
      const stages: Array<[number, number]> = [[16, 1], [24, 2], [32, 2], [64, 2], [96, 1], [160, 2], [320, 1]];
      const cfg: Array<{ c: number; n: number; k: number; e: number; se: boolean }> = [];
      let y = applyAct(b, b.batchNorm(b.conv(x, { cout: width(32, mult), k: 3, stride: 2, bias: false })), act);
      stages.forEach(([base, stride], si) => {
        const c = width(base, mult);
        const n = si === 0 || si === 6 ? 1 : rng.int(1, 3);
        const k = variant === 'v2' ? 3 : pick(rng, [3, 5]);
        const e = si === 0 ? 1 : pick(rng, variant === 'v2' ? [3, 4, 6] : [3, 4, 6]);
        const se = variant !== 'v2' && (variant === 'eff' || rng.next() < 0.5);
        cfg.push({ c, n, k, e, se });
        for (const s of strides(n, stride)) {
          y = invertedResidual(b, y, c, k, s, e, act, se ? { gate: variant === 'v3' ? 'hsigmoid' : 'sigmoid', ratio: 0.25 } : undefined);
        }
      });
      const head = width(variant === 'v2' ? 1280 : 960, Math.max(mult, 0.5));
      y = applyAct(b, b.batchNorm(b.conv(y, { cout: head, k: 1, bias: false })), act);
      const classes = pick(rng, CLASSES);
      b.output(classifier(b, y, classes));
      return { b, config: { res, mult, stages: cfg, head, classes, ...(variant === 'v3' ? { hswish: HSWISH_CONFIG[hswish] } : {}) } };
    },
  };
}

export const mobilenetv2 = mobileFamily('mobilenetv2', 'MobileNetV2 inverted residuals (ReLU6), random depths, expansions, width', 'v2');
export const mobilenetv3 = mobileFamily('mobilenetv3', 'MobileNetV3-style: hard-swish (the HardSwish op, x · HardSigmoid(x) or x · Clip(x + 3, 0, 6) / 6, as exporters write it), squeeze-excite with hard-sigmoid, 3×3/5×5 depthwise', 'v3', 2);
export const efficientnet = mobileFamily('efficientnet', 'EfficientNet-like MBConv with swish and squeeze-excite in every block', 'eff');

export const shufflenetv2: Family = {
  name: 'shufflenetv2',
  description: 'ShuffleNetV2: channel split, branch, concat and channel shuffle',
  build(rng, target) {
    const { b, res, x } = image(rng, target);
    const base = pick(rng, [48, 64, 96, 116, 176]);
    const depths = [rng.int(2, 4), rng.int(2, 6), rng.int(2, 4)];
    let y = b.maxPool(convBnAct(b, x, 24, 3, 2), 3, 2, 1);
    const shuffle = (t: Tensor) => {
      const [n, c, h, w] = t.shape as [number, number, number, number];
      return b.reshape(b.transpose(b.reshape(t, [n, 2, c / 2, h, w]), [0, 2, 1, 3, 4]), [n, c, h, w]);
    };
    depths.forEach((d, si) => {
      const c = base * 2 ** si;
      for (let i = 0; i < d; i++) {
        const half = c / 2;
        if (i === 0) {
          const left = convBnAct(b, b.batchNorm(b.conv(y, { cout: y.shape[1]!, k: 3, stride: 2, groups: y.shape[1]!, bias: false })), half, 1);
          let right = convBnAct(b, y, half, 1);
          right = convBnAct(b, b.batchNorm(b.conv(right, { cout: half, k: 3, stride: 2, groups: half, bias: false })), half, 1);
          y = shuffle(b.concat([left, right], 1));
        } else {
          const [keep, go] = b.split(y, [half, half], 1) as [Tensor, Tensor];
          let r = convBnAct(b, go, half, 1);
          r = convBnAct(b, b.batchNorm(b.conv(r, { cout: half, k: 3, groups: half, bias: false })), half, 1);
          y = shuffle(b.concat([keep, r], 1));
        }
      }
    });
    y = convBnAct(b, y, pick(rng, [512, 1024]), 1);
    const classes = pick(rng, CLASSES);
    b.output(classifier(b, y, classes));
    return { b, config: { res, base, depths, classes } };
  },
};

export const squeezenet: Family = {
  name: 'squeezenet',
  description: 'SqueezeNet fire modules (squeeze 1×1, expand 1×1 ‖ 3×3, concat)',
  build(rng, target) {
    const { b, res, x } = image(rng, target, [96, 128, 160, 192, 224]);
    const mult = pick(rng, [0.5, 0.75, 1]);
    let y = b.maxPool(b.act(b.conv(x, { cout: width(64, mult), k: 3, stride: 2 }), 'relu'), 3, 2);
    const fires = rng.int(6, 8);
    const cfg: number[] = [];
    for (let i = 0; i < fires; i++) {
      const sq = width(16 * (1 + Math.floor(i / 2)), mult);
      cfg.push(sq);
      const s = b.act(b.conv(y, { cout: sq, k: 1 }), 'relu');
      y = b.concat([b.act(b.conv(s, { cout: sq * 4, k: 1 }), 'relu'), b.act(b.conv(s, { cout: sq * 4, k: 3 }), 'relu')], 1);
      if ((i === 1 || i === 3) && y.shape[2]! > 4) y = b.maxPool(y, 3, 2);
    }
    const classes = pick(rng, CLASSES);
    y = b.act(b.conv(y, { cout: classes, k: 1 }), 'relu');
    const p = b.globalAvgPool(y);
    b.output(b.reshape(p, [1, classes]));
    return { b, config: { res, mult, squeeze: cfg, classes } };
  },
};

export const densenet: Family = {
  name: 'densenet',
  description: 'DenseNet dense blocks (BN-ReLU-1×1-3×3, concatenation) and transitions',
  build(rng, target) {
    const { b, res, x } = image(rng, target, [64, 96, 112, 128]);
    const growth = pick(rng, [8, 12, 16, 24]);
    const blocks = [rng.int(2, 5), rng.int(2, 6), rng.int(2, 6)];
    let y = b.maxPool(convBnAct(b, x, 2 * growth, 3, 2), 3, 2, 1);
    blocks.forEach((n, bi) => {
      for (let i = 0; i < n; i++) {
        let r = b.conv(b.act(b.batchNorm(y), 'relu'), { cout: 4 * growth, k: 1, bias: false });
        r = b.conv(b.act(b.batchNorm(r), 'relu'), { cout: growth, k: 3, bias: false });
        y = b.concat([y, r], 1);
      }
      if (bi < blocks.length - 1) y = b.avgPool(b.conv(b.act(b.batchNorm(y), 'relu'), { cout: width(y.shape[1]! / 2, 1), k: 1, bias: false }), 2, 2);
    });
    const classes = pick(rng, CLASSES);
    b.output(classifier(b, b.act(b.batchNorm(y), 'relu'), classes));
    return { b, config: { res, growth, blocks, classes } };
  },
};

export const googlenet: Family = {
  name: 'googlenet',
  description: 'GoogLeNet inception modules (1×1 ‖ 1×1-3×3 ‖ 1×1-5×5 ‖ pool-1×1, concat)',
  build(rng, target) {
    const { b, res, x } = image(rng, target, [96, 112, 128, 160]);
    const mult = pick(rng, [0.25, 0.375, 0.5]);
    let y = b.maxPool(convBnAct(b, x, width(64, mult), 7, 2), 3, 2, 1);
    y = b.maxPool(convBnAct(b, convBnAct(b, y, width(64, mult), 1), width(192, mult), 3), 3, 2, 1);
    const modules = rng.int(3, 7);
    for (let i = 0; i < modules; i++) {
      const c = width(64 * (1 + i / 2), mult);
      const b1 = convBnAct(b, y, c, 1);
      const b2 = convBnAct(b, convBnAct(b, y, width(c * 0.75, 1), 1), c, 3);
      const b3 = convBnAct(b, convBnAct(b, y, width(c / 4, 1), 1), width(c / 2, 1), pick(rng, [3, 5]));
      const b4 = convBnAct(b, b.maxPool(y, 3, 1, 1), width(c / 2, 1), 1);
      y = b.concat([b1, b2, b3, b4], 1);
      if (i === 1 || i === 4) y = b.maxPool(y, 3, 2, 1);
    }
    const classes = pick(rng, CLASSES);
    b.output(classifier(b, y, classes));
    return { b, config: { res, mult, modules, classes } };
  },
};

/**
 * The dense-prediction shape (segmentation, DB-style text detection as in PP-OCRv4 det): an
 * encoder of conv stages halving the map, a decoder of ConvTranspose upsamplings each joined to
 * the encoder's map of that size (concatenated or added), and a per-pixel head of a few channels.
 */
export const unet: Family = {
  name: 'unet',
  description: 'U-Net-style encoder–decoder: conv stages down, ConvTranspose (2×2, 3×3 or 4×4, stride 2) up, skip concat or add, per-pixel head',
  build(rng, target) {
    // every size divisible by 2^4, so each upsampling meets its skip at the same size
    const { b, res, x } = image(rng, target, [64, 96, 128, 160]);
    const levels = rng.int(2, 4);
    const base = pick(rng, [8, 12, 16]);
    const k = pick(rng, [2, 2, 3, 4]);
    const join = pick(rng, ['concat', 'add'] as const);
    const skips: Tensor[] = [];
    let y = x;
    for (let l = 0; l < levels; l++) {
      y = convBnAct(b, y, base * 2 ** l, 3);
      if (rng.next() < 0.5) y = convBnAct(b, y, base * 2 ** l, 3);
      skips.push(y);
      y = b.maxPool(y, 2, 2);
    }
    y = convBnAct(b, y, base * 2 ** levels, 3);
    for (let l = levels - 1; l >= 0; l--) {
      const c = base * 2 ** l;
      const up = b.act(b.convTranspose(y, { cout: c, k, stride: 2 }), 'relu');
      y = convBnAct(b, join === 'concat' ? b.concat([up, skips[l]!], 1) : b.add(up, skips[l]!), c, 3);
    }
    const classes = pick(rng, [1, 2, 4]);
    b.output(b.act(b.conv(y, { cout: classes, k: 1 }), 'sigmoid'));
    return { b, config: { res, levels, base, k, join, classes } };
  },
};

/** a pre-LN transformer encoder layer over [1, seq, dim] */
function encoderLayer(b: GraphBuilder, x: Tensor, heads: number, mlpRatio: number): Tensor {
  const [n, seq, dim] = x.shape as [number, number, number];
  const hd = dim / heads;
  const h = b.layerNorm(x);
  const split = (t: Tensor) => b.transpose(b.reshape(t, [n, seq, heads, hd]), [0, 2, 1, 3]);
  const q = split(b.linear(h, dim));
  const k = b.transpose(b.reshape(b.linear(h, dim), [n, seq, heads, hd]), [0, 2, 3, 1]);
  const v = split(b.linear(h, dim));
  const scores = b.softmax(b.mul(b.matmul(q, k), b.constTensor(1 / Math.sqrt(hd))), -1);
  const ctx = b.reshape(b.transpose(b.matmul(scores, v), [0, 2, 1, 3]), [n, seq, dim]);
  const y = b.add(x, b.linear(ctx, dim));
  const m = b.linear(b.act(b.linear(b.layerNorm(y), dim * mlpRatio), 'gelu'), dim);
  return b.add(y, m);
}

function transformerConfig(rng: Rng) {
  const dim = pick(rng, [64, 96, 128, 192, 256, 384]);
  const heads = pick(rng, [2, 4, 8].filter((h) => dim % h === 0 && dim / h >= 16));
  return { dim, heads, layers: rng.int(2, 6), mlpRatio: pick(rng, [2, 3, 4]) };
}

export const vit: Family = {
  name: 'vit',
  description: 'ViT-like encoder: patch-embedding conv, position embeddings, pre-LN layers, mean-pool head',
  build(rng, target) {
    const res = pick(rng, [64, 96, 128, 160, 224]);
    const patch = pick(rng, [8, 16].filter((p) => (res / p) ** 2 <= 256 && res % p === 0));
    const t = transformerConfig(rng);
    const b = newBuilder(rng, target);
    const x = b.input('input', [1, 3, res, res]);
    const seq = (res / patch) ** 2;
    const e = b.conv(x, { cout: t.dim, k: patch, stride: patch, pad: 'valid' });
    let y = b.add(b.transpose(b.reshape(e, [1, t.dim, seq]), [0, 2, 1]), b.parameter([1, seq, t.dim]));
    for (let i = 0; i < t.layers; i++) y = encoderLayer(b, y, t.heads, t.mlpRatio);
    const pooled = b.reshape(b.globalAvgPool(b.reshape(b.transpose(b.layerNorm(y), [0, 2, 1]), [1, t.dim, seq, 1])), [1, t.dim]);
    const classes = pick(rng, CLASSES);
    b.output(b.linear(pooled, classes));
    return { b, config: { res, patch, seq, ...t, classes } };
  },
};

export const bert: Family = {
  name: 'bert',
  description: 'BERT-like encoder: int64 token ids, token + position embeddings, post-embedding LayerNorm, pre-LN layers',
  build(rng, target) {
    const seq = pick(rng, [16, 32, 64, 128, 256]);
    const t = transformerConfig(rng);
    const vocab = pick(rng, [1000, 4000, 8000]);
    const b = newBuilder(rng, target);
    const ids = b.tokenInput('input_ids', [1, seq]);
    let y = b.layerNorm(b.add(b.embedding(ids, vocab, t.dim), b.parameter([1, seq, t.dim])));
    for (let i = 0; i < t.layers; i++) y = encoderLayer(b, y, t.heads, t.mlpRatio);
    b.output(b.linear(b.layerNorm(y), 2));
    return { b, config: { seq, vocab, ...t } };
  },
};

export const crnn: Family = {
  name: 'crnn',
  description: 'CRNN text recogniser: VGG-style convolutions over a 32-pixel text line, the map read column by column as a sequence, 1–2 LSTM layers (mostly bidirectional), a per-step classifier',
  build(rng, target) {
    const w = pick(rng, [96, 128, 160, 200, 256, 320]);
    const b = newBuilder(rng, target);
    const mult = pick(rng, [0.25, 0.5, 0.75, 1]);
    const deep = rng.int(1, 2);
    let y = b.maxPool(convBnAct(b, b.input('input', [1, 3, 32, w]), width(64, mult), 3), 2, 2);
    y = b.maxPool(convBnAct(b, y, width(128, mult), 3), 2, 2);
    for (let i = 0; i < deep; i++) y = convBnAct(b, y, width(256, mult), 3);
    y = convBnAct(b, y, width(256, mult), 3, 2); // [1, C, 4, w/8]
    const [, c, h, steps] = y.shape as [number, number, number, number];
    // map to sequence: every column's C·4 features, projected to the recurrent layers' width
    let seq = b.linear(b.transpose(b.reshape(y, [1, c * h, steps]), [2, 0, 1]), pick(rng, [64, 96, 128, 192, 256]));
    const layers = rng.int(1, 2);
    const hidden = pick(rng, [48, 64, 96, 128, 192, 256]);
    const directions = rng.next() < 0.75 ? 2 : 1;
    for (let i = 0; i < layers; i++) {
      const out = b.lstm(seq, hidden, directions); // [steps, directions, 1, hidden]
      seq = b.reshape(b.transpose(out, [0, 2, 1, 3]), [steps, 1, directions * hidden]);
    }
    const classes = pick(rng, [37, 97, 512, 6625]);
    b.output(b.linear(seq, classes));
    return { b, config: { width: w, mult, deep, steps, layers, hidden, directions, classes } };
  },
};

/** the DBNet family's input sizes (square; PP-OCRv4 det is run at 640² in the bench) */
export const DBNET_RES = [256, 320, 384, 480, 640];

/**
 * Dense prediction at the resolutions text detectors run (PP-OCRv4 det, DBNet): 256–640² inputs,
 * so the first stages' kernels work on 128–320² maps, past everything the classification families
 * reach. Without them the predictors were chosen blind to those sizes (PP-OCRv4 det +43 % on one
 * thread; reports/models-history.md, session 37).
 */
export const dbnet: Family = {
  name: 'dbnet',
  description: 'DBNet-style text detector at 256–640²: strided conv-BN-act stages (ReLU or unfused hard-swish, optional hard-sigmoid squeeze-excite), ConvTranspose up, add skips, sigmoid mask',
  build(rng, target) {
    const { b, res, x } = image(rng, target, DBNET_RES);
    return { b, config: { res, ...dbnetBody(rng, b, x) } };
  },
};

/**
 * The DBNet family's network after its input (shared with scripts/models-dense-check.mjs, whose
 * held-out networks draw their resolution and weights differently): its drawn configuration.
 */
export function dbnetBody(rng: Rng, b: GraphBuilder, x: Tensor): { levels: number; base: number; paddleAct: boolean; se: boolean } {
  const levels = rng.int(3, 4);
  const base = pick(rng, [8, 12, 16, 24]);
  const paddleAct = rng.next() < 0.5;
  const se = rng.next() < 0.5;
  const act = (t: Tensor) => (paddleAct ? b.hardSwishDecomposed(t) : b.act(t, 'relu'));
  const cba = (t: Tensor, c: number, k: number, stride = 1) => act(b.batchNorm(b.conv(t, { cout: c, k, stride, bias: false })));
  let y = cba(x, base, 3, 2);
  const skips: Tensor[] = [];
  for (let l = 0; l < levels; l++) {
    y = cba(y, base * 2 ** l, 3);
    if (se) y = squeezeExcite(b, y, Math.max(8, (base * 2 ** l) / 4), 'hsigmoid');
    skips.push(y);
    y = cba(y, base * 2 ** (l + 1), 3, 2);
  }
  for (let l = levels - 1; l >= 0; l--) {
    const c = base * 2 ** l;
    const up = b.act(b.convTranspose(y, { cout: c, k: 2, stride: 2 }), 'relu');
    y = convBnAct(b, b.add(up, skips[l]!), c, 3);
  }
  b.output(b.act(b.conv(y, { cout: 1, k: 1 }), 'sigmoid'));
  return { levels, base, paddleAct, se };
}

/**
 * Mobile text-line models as PP-OCR's direction classifier and recogniser are built, so that the
 * kernels they run — depthwise convolutions on flat 2–24 × 48–240 maps, 2×1 strides that halve the
 * height only, Paddle2ONNX's four-op hard-swish — are in the networks the design is chosen on and
 * the in-graph corrections learn from (PP-OCR cls priced +27 % on one thread, its flat depthwise
 * convolutions at 1.1–2.7× their profiled time: reports/models-history.md, session 45).
 * Backbone: MobileNetV3 inverted residuals (cls-like) or PP-LCNet depthwise-separable blocks
 * (rec-like). Head: a classifier over the pooled map (cls), or the map read column by column as a
 * sequence, an optional transformer neck (PP-OCRv4 rec's SVTR neck) and a per-step classifier (rec).
 */
export const textline: Family = {
  name: 'textline',
  description: 'Mobile text-line models (PP-OCR cls / rec style): a 32- or 48-pixel line, MobileNetV3 inverted residuals or PP-LCNet depthwise-separable blocks, 2×1 strides halving the height only, hard-swish mostly as Paddle2ONNX writes it, optional hard-sigmoid squeeze-excite; a pooled classifier or a per-column sequence head with an optional transformer neck',
  build(rng, target) {
    const head = rng.next() < 0.5 ? 'cls' : 'rec';
    const h = pick(rng, [32, 48]);
    const w = pick(rng, head === 'cls' ? [96, 128, 192, 256] : [160, 256, 320, 480]);
    const b = newBuilder(rng, target);
    const x = b.input('input', [1, 3, h, w]);
    const body = pick(rng, ['mbv3', 'lcnet'] as const);
    const mult = pick(rng, [0.35, 0.5, 0.75, 1.0]);
    const act = pick(rng, ['hswish-clip', 'hswish-clip', 'hswish', 'relu'] as const);
    const a = (t: Tensor) => applyAct(b, t, act);
    let y = a(b.batchNorm(b.conv(x, { cout: width(16, mult), k: 3, stride: 2, bias: false })));
    // the height halves three times after the stem (48 → 3, 32 → 2); a rec network may halve the width once more
    const halveWidth = head === 'rec' && rng.next() < 0.5;
    const stages: Array<[number, Stride]> = [[24, [2, 1]], [40, halveWidth ? [2, 2] : [2, 1]], [80, 1], [112, [2, 1]], [160, 1]];
    const cfg: Array<{ c: number; n: number; k: number; e: number; se: boolean }> = [];
    stages.forEach(([base, stride], si) => {
      const c = width(base, mult);
      const n = rng.int(1, si < 2 ? 2 : 3);
      const k = pick(rng, [3, 5]);
      const e = body === 'lcnet' ? 1 : pick(rng, si === 0 ? [1, 3] : [3, 4, 6]);
      const se = si >= 2 && rng.next() < 0.5;
      cfg.push({ c, n, k, e, se });
      for (const s of strides(n, stride)) {
        if (body === 'mbv3') {
          y = invertedResidual(b, y, c, k, s, e, act, se ? { gate: 'hsigmoid', ratio: 0.25 } : undefined);
        } else {
          const cin = y.shape[1]!;
          y = a(b.batchNorm(b.conv(y, { cout: cin, k, stride: s, groups: cin, bias: false })));
          if (se) y = squeezeExcite(b, y, Math.max(8, width(cin / 4, 1)), 'hsigmoid');
          y = a(b.batchNorm(b.conv(y, { cout: c, k: 1, bias: false })));
        }
      }
    });
    if (head === 'cls') {
      const classes = pick(rng, [2, 4]);
      b.output(classifier(b, y, classes));
      return { b, config: { head, height: h, width: w, body, mult, act, stages: cfg, classes } };
    }
    // rec: every column's C·H features as one step of a sequence, projected to the neck's width
    const [, c, hh, steps] = y.shape as [number, number, number, number];
    const dim = pick(rng, [64, 96, 128]);
    let seq = b.linear(b.transpose(b.reshape(y, [1, c * hh, steps]), [0, 2, 1]), dim);
    const neck = rng.int(0, 2);
    for (let i = 0; i < neck; i++) seq = encoderLayer(b, seq, dim / 32, 2);
    const classes = pick(rng, [97, 6625]);
    b.output(b.linear(seq, classes));
    return { b, config: { head, height: h, width: w, body, mult, act, stages: cfg, steps, dim, neck, classes } };
  },
};
