import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';

/** Fashion-MNIST images (uint8, row-major 28×28) with their labels. */
export interface ImageSet {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
  labels: Uint8Array;
  source: string;
}

export const FMNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** 2,000 test-set images shipped with the package (data/fashion-mnist, MIT licence, see its README) */
export const BUNDLED_FMNIST_DIR = path.resolve(HERE, '..', '..', 'data', 'fashion-mnist');

/** Where the full data set may be on this machine (benchmarks only; tests use the bundled sample). */
export const FULL_FMNIST_DIRS = [path.resolve(HERE, '..', '..', '..', 'shared', 'data', 'fashion-mnist'), '/usr/share/datasets/fashion-mnist'];

function readMaybeGz(file: string): Buffer {
  const raw = readFileSync(file);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

/** Parses an IDX file (the MNIST container format); every malformed field is named in the error. */
export function parseIdx(buf: Buffer, file: string): { dims: number[]; data: Uint8Array } {
  if (buf.length < 4) throw new UserError(`IDX file too short (${buf.length} bytes)`, file);
  if (buf[0] !== 0 || buf[1] !== 0) throw new UserError('not an IDX file (magic number must start with two zero bytes)', file);
  if (buf[2] !== 0x08) throw new UserError(`IDX element type 0x${buf[2]!.toString(16)} is not supported (expected 0x08, unsigned byte)`, file);
  const ndim = buf[3]!;
  if (ndim < 1 || ndim > 4) throw new UserError(`IDX rank ${ndim} out of range 1..4`, file);
  if (buf.length < 4 + 4 * ndim) throw new UserError('IDX header truncated', file);
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const data = buf.subarray(4 + 4 * ndim);
  if (data.length !== n) throw new UserError(`IDX body has ${data.length} bytes, header dims ${dims.join('×')} need ${n}`, file);
  return { dims, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function findFile(dir: string, stem: string): string | undefined {
  for (const f of [`${stem}.gz`, stem]) if (existsSync(path.join(dir, f))) return path.join(dir, f);
  return undefined;
}

/** Reads `{prefix}-images-idx3-ubyte[.gz]` and `{prefix}-labels-idx1-ubyte[.gz]` from `dir`. */
export function loadImageSet(dir: string, prefix: 't10k' | 'train' | string): ImageSet {
  const imgFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgFile || !lblFile) throw new UserError(`no ${prefix}-images-idx3-ubyte(.gz) / ${prefix}-labels-idx1-ubyte(.gz) here`, dir);
  const img = parseIdx(readMaybeGz(imgFile), imgFile);
  const lbl = parseIdx(readMaybeGz(lblFile), lblFile);
  if (img.dims.length !== 3) throw new UserError(`images must be rank 3 (count×rows×cols), got ${img.dims.length}`, imgFile);
  if (lbl.dims.length !== 1 || lbl.dims[0] !== img.dims[0]) throw new UserError(`labels count ${lbl.dims[0]} does not match ${img.dims[0]} images`, lblFile);
  for (const [i, l] of lbl.data.entries()) if (l > 9) throw new UserError(`label ${l} at index ${i} is not a class 0..9`, lblFile);
  return { count: img.dims[0]!, rows: img.dims[1]!, cols: img.dims[2]!, pixels: img.data, labels: lbl.data, source: imgFile };
}

/** The full test set if this machine has it, else null (callers say what they fell back to). */
export function findFullFashionMnist(prefix: 't10k' | 'train'): ImageSet | null {
  for (const d of FULL_FMNIST_DIRS) {
    if (findFile(d, `${prefix}-images-idx3-ubyte`)) return loadImageSet(d, prefix);
  }
  return null;
}

export function bundledFashionMnist(): ImageSet {
  return loadImageSet(BUNDLED_FMNIST_DIR, 't10k-sample');
}

/** image i as float32 pixels / 255 (the backbone's input scale; it normalises inside its graph) */
export function imageAsInput(set: ImageSet, i: number): Float32Array {
  const n = set.rows * set.cols;
  const out = new Float32Array(n);
  const off = i * n;
  for (let k = 0; k < n; k++) out[k] = set.pixels[off + k]! / 255;
  return out;
}

/** Image order for a replay: test-set order, or grouped by class (classes 0–4, then 5–9: a shift). */
export function streamOrder(set: ImageSet, n: number, shift: boolean): number[] {
  const idx = Array.from({ length: set.count }, (_, i) => i);
  const ordered = shift ? [...idx.filter((i) => set.labels[i]! < 5), ...idx.filter((i) => set.labels[i]! >= 5)] : idx;
  return Array.from({ length: n }, (_, i) => ordered[i % ordered.length]!);
}
