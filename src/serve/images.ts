import type * as Canvas from '@napi-rs/canvas';
import { preprocessForClassifier } from '../earlyexit/ppocr.js';
import type { InputSpec } from '../earlyexit/setup.js';

export type { InputSpec };
import { UserError } from '../util/errors.js';
import { lazyRequire } from '../util/lazy.js';

const canvasLib = lazyRequire<typeof Canvas>('@napi-rs/canvas');

/** Pixels as the client sent them: row-major, `channels` interleaved values per pixel, 0..255. */
export interface RawImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint8ClampedArray;
}

export async function decodePng(bytes: Buffer): Promise<RawImage> {
  let img;
  try {
    img = await canvasLib().loadImage(bytes);
  } catch (e) {
    throw new UserError(`body is not a decodable PNG/JPEG image (${(e as Error).message})`, 'image');
  }
  if (!img.width || !img.height) throw new UserError('image has zero width or height', 'image');
  if (img.width * img.height > 4096 * 4096) throw new UserError(`image ${img.width}×${img.height} is too large (max 16 Mpixel)`, 'image');
  const c = canvasLib().createCanvas(img.width, img.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { width: img.width, height: img.height, channels: 4, data: ctx.getImageData(0, 0, img.width, img.height).data };
}

/** JSON pixels → RawImage, with the field that is wrong named in the error. */
export function rawFromJson(body: { width: number; height: number; channels?: number; pixels: number[] }): RawImage {
  const channels = body.channels ?? 1;
  const n = body.width * body.height * channels;
  if (body.pixels.length !== n) throw new UserError(`has ${body.pixels.length} values, expected width × height × channels = ${body.width}×${body.height}×${channels} = ${n}`, 'pixels');
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = body.pixels[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new UserError(`value ${v} at index ${i} is not an integer in 0..255`, 'pixels');
    data[i] = v;
  }
  return { width: body.width, height: body.height, channels, data };
}

function toRgba(img: RawImage): Uint8ClampedArray {
  if (img.channels === 4) return new Uint8ClampedArray(img.data);
  const out = new Uint8ClampedArray(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) out[p * 4 + c] = img.data[p * img.channels + (img.channels === 1 ? 0 : c)]!;
    out[p * 4 + 3] = 255;
  }
  return out;
}

/** RawImage → model input (NCHW float32), per the model's InputSpec. */
export function toModelInput(image: RawImage, spec: InputSpec): Float32Array {
  let img = image;
  if (![1, 3, 4].includes(img.channels)) throw new UserError(`channels must be 1, 3 or 4, got ${img.channels}`, 'channels');
  if (spec.fit === 'ppocr') {
    const rgba = toRgba(img);
    return preprocessForClassifier(rgba, img.width, img.height);
  }
  if (img.width !== spec.width || img.height !== spec.height) {
    if (spec.fit === 'exact') throw new UserError(`image is ${img.width}×${img.height}, this model takes ${spec.width}×${spec.height} (use --fit resize or centre-crop to accept other sizes)`, 'image');
    img = resample(img, spec.width, spec.height, spec.fit === 'centre-crop');
  }
  const HW = spec.width * spec.height;
  const out = new Float32Array(spec.channels * HW);
  const { data, channels: ic } = img;
  // no closure or array per pixel: this runs for every request the cache server answers
  if (spec.channels === 1) {
    const [mean, std] = [spec.mean[0]!, spec.std[0]!];
    for (let p = 0; p < HW; p++) {
      const at = p * ic;
      // a grey model fed colour: ITU-R BT.601 luma
      const v = ic === 1 ? data[at]! : 0.299 * data[at]! + 0.587 * data[at + 1]! + 0.114 * data[at + 2]!;
      out[p] = (v / 255 - mean) / std;
    }
    return out;
  }
  for (let c = 0; c < spec.channels; c++) {
    // channel c of the model reads channel `from` of the image (reversed for BGR models; a grey image feeds every channel)
    const from = Math.min(spec.bgr ? 2 - c : c, ic - 1);
    const [mean, std] = [spec.mean[c]!, spec.std[c]!];
    const o = c * HW;
    for (let p = 0; p < HW; p++) out[o + p] = (data[p * ic + from]! / 255 - mean) / std;
  }
  return out;
}

/**
 * Bilinear resampling to width × height (canvas drawImage): stretched, or — `crop` — the largest
 * centred region with the target's aspect ratio, scaled (ImageNet-style resize + centre crop).
 */
export function resample(img: RawImage, width: number, height: number, crop: boolean): RawImage {
  const src = canvasLib().createCanvas(img.width, img.height);
  const sctx = src.getContext('2d');
  const data = sctx.createImageData(img.width, img.height);
  data.data.set(toRgba(img));
  sctx.putImageData(data, 0, 0);
  let [sx, sy, sw, sh] = [0, 0, img.width, img.height];
  if (crop) {
    const scale = Math.min(img.width / width, img.height / height);
    [sw, sh] = [width * scale, height * scale];
    [sx, sy] = [(img.width - sw) / 2, (img.height - sh) / 2];
  }
  const dst = canvasLib().createCanvas(width, height);
  const dctx = dst.getContext('2d');
  dctx.imageSmoothingEnabled = true;
  dctx.drawImage(src, sx, sy, sw, sh, 0, 0, width, height);
  return { width, height, channels: 4, data: dctx.getImageData(0, 0, width, height).data };
}
