import { hardwareFacts } from '../runtimes/hardware.js';
import { UserError } from '../util/errors.js';

/**
 * Which node patterns a runtime executes as one kernel. onnxruntime rewrites the graph before it
 * runs it (ORT_ENABLE_ALL): BatchNormalization is folded into the Conv before it, activations and
 * residual Adds are fused into the convolution (NCHWc Conv / FusedConv on x86), MatMul + bias
 * becomes Gemm, a MatMul scaled by a constant becomes FusedMatMul, the erf-GELU pattern becomes
 * Gelu, an Add that only feeds a LayerNormalization becomes SkipLayerNormalization, and
 * x · sigmoid(x) (swish / SiLU) becomes QuickGelu, and a convolution's x · HardSigmoid(x)
 * (hard-swish as tf2onnx writes it) becomes the convolution's HardSwish activation
 * ('conv-hardswish'). On x86 a standalone BatchNormalization over a channel count that fills
 * NCHWc blocks becomes a blocked depthwise convolution that takes the following activation
 * ('bn-act').
 *
 * Rules are per device. The ort-cpu table was read off the optimised graphs onnxruntime writes
 * (`optimizedModelFilePath`); test/wholemodel.test.ts checks it against them on every generated
 * family. The ort-wasm table is learned by timing each pattern against its parts
 * (fusion-probe.ts). Adding a device = one entry here.
 */
export type FusionRule = 'conv-bn' | 'conv-add' | 'conv-act' | 'conv-hardswish' | 'matmul-add' | 'matmul-scale' | 'gelu' | 'add-layernorm' | 'swish' | 'bn-act';

export interface FusionTable {
  rules: ReadonlySet<FusionRule>;
  /** activations a convolution absorbs under 'conv-act' */
  convActs: ReadonlySet<string>;
  /** where the table comes from, printed with predictions */
  source: string;
  /** NCHWc channel block ('bn-act' applies when channels are a multiple of it; 0 = no NCHWc) */
  nchwcBlock: number;
  /**
   * How a depthwise convolution on a non-square map (a text line's 2×96) is priced from the square
   * dwconv module: 'area' as the square of equal area, 'rows' as its rows of the square as wide as
   * the map (the W×W prediction × H/W) — onnxruntime-web's depthwise kernel costs per output row.
   */
  flatDepthwise: 'area' | 'rows';
}

const ORT_CPU: FusionTable = {
  rules: new Set<FusionRule>(['conv-bn', 'conv-add', 'conv-act', 'conv-hardswish', 'matmul-add', 'matmul-scale', 'gelu', 'add-layernorm', 'swish', 'bn-act']),
  convActs: new Set(['Relu', 'Clip', 'HardSwish', 'Sigmoid', 'HardSigmoid', 'LeakyRelu', 'Tanh']),
  nchwcBlock: hardwareFacts('ort-cpu').nchwcBlock,
  // standalone depthwise kernels on flat maps run 0.68–0.99× the equal-area square (scripts/nonsquare-probe.mjs)
  flatDepthwise: 'area',
  source: "onnxruntime-node 1.30 optimised graphs (NCHWc Conv with activation (incl. HardSigmoid·Mul as HardSwish) and Sum, FusedConv, Gemm, FusedMatMul, Gelu, SkipLayerNormalization, QuickGelu)",
};

/**
 * onnxruntime-web writes no optimised graph, so this table is learned by measurement
 * (fusion-probe.ts, `latencylab fusion -d ort-wasm`; two runs on 2026-12-02): a Conv absorbs the
 * BatchNorm, the activation and a residual Add (the pair costs what the Conv costs alone), while
 * MatMul+Add, the GELU pattern and Add+LayerNorm cost as much as their parts (saved ≤ 0.17 of
 * the absorbed op in both runs): not fused in the wasm build.
 */
const ORT_WASM: FusionTable = {
  // conv-hardswish (2026-12-03, scripts/hardswish-fusion.mjs and scripts/hardswish-fusion-networks.mjs):
  // in a chain of eight 1×1 convolutions x·HardSigmoid(x) cost what the HardSwish op costs (1.878 vs
  // 1.874 ms; HardSigmoid alone 1.954), and the one validation network written that way is
  // predicted at 1.57× its measurement with two extra kernels a block, 0.95× without (other
  // MobileNetV3 calibration/validation networks: 1.11–1.40× before calibration). The fusion probe's
  // pair-vs-parts figure was ambiguous (48 %).
  rules: new Set<FusionRule>(['conv-bn', 'conv-act', 'conv-add', 'conv-hardswish', 'matmul-scale']),
  convActs: new Set(['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'LeakyRelu', 'Tanh']),
  nchwcBlock: 0,
  // 2026-12-06 (scripts/nonsquare-probe.mjs, 7 standalone depthwise kernels on 2×96 … 24×96 maps):
  // they ran 0.31–0.80× the square of equal area, which the module predicted at 1.16–2.85× their
  // time; priced as rows of the W×W square, 0.94–1.33×. Dense convolutions: 0.90–0.99× (left as area).
  flatDepthwise: 'rows',
  source: 'onnxruntime-web 1.30, learned by measurement (Conv+BN+Add+act and x·HardSigmoid(x) fused; MatMul+Add, GELU, Add+LayerNorm not)',
};

const TABLES: Record<string, FusionTable> = { 'ort-cpu': ORT_CPU, 'ort-wasm': ORT_WASM };

export function fusionTable(device: string): FusionTable {
  const t = TABLES[device];
  if (!t) throw new UserError(`whole-model prediction supports ${Object.keys(TABLES).join(', ')} (ONNX runtimes); '${device}' has no fusion table`, 'device');
  return t;
}

export const WHOLE_MODEL_DEVICES = Object.keys(TABLES);
