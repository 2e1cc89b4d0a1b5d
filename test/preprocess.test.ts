import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { bundledFashionMnist } from '../src/data/fmnist.js';
import { loadImageFolder } from '../src/serve/image-folder.js';
import { resample, toModelInput, type InputSpec, type RawImage } from '../src/serve/images.js';
import { UserError } from '../src/util/errors.js';
import { cli, tempDir } from './helpers.js';

const set = bundledFashionMnist();
const grey = (i: number): RawImage => ({ width: 28, height: 28, channels: 1, data: set.pixels.subarray(i * 784, (i + 1) * 784) });
const spec: InputSpec = { channels: 1, height: 28, width: 28, fit: 'resize', mean: [0], std: [1] };

function upscaledPng(i: number, w: number, h: number): Buffer {
  const c = createCanvas(28, 28);
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) img.data.set([set.pixels[i * 784 + p]!, set.pixels[i * 784 + p]!, set.pixels[i * 784 + p]!, 255], p * 4);
  ctx.putImageData(img, 0, 0);
  const big = createCanvas(w, h);
  big.getContext('2d').drawImage(c, 0, 0, w, h);
  return big.toBuffer('image/png');
}

describe('preprocessing for any image model', () => {
  it('resize brings a 2× image back close to the original; exact refuses it with the remedy named', () => {
    const big = resample(grey(3), 56, 56, false);
    const back = toModelInput(big, spec);
    const orig = toModelInput(grey(3), { ...spec, fit: 'exact' });
    const mad = back.reduce((s, v, i) => s + Math.abs(v - orig[i]!), 0) / back.length;
    expect(mad).toBeLessThan(0.06);
    expect(() => toModelInput(big, { ...spec, fit: 'exact' })).toThrow(/use --fit resize or centre-crop/);
  });

  it('centre-crop cuts the centre: a 28-wide image padded to 40 with a white band on each side comes back as the original', () => {
    const wide: RawImage = { width: 40, height: 28, channels: 1, data: new Uint8Array(40 * 28).fill(255) };
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) wide.data[y * 40 + x + 6] = grey(5).data[y * 28 + x]!;
    const cropped = toModelInput(wide, { ...spec, fit: 'centre-crop' });
    const orig = toModelInput(grey(5), { ...spec, fit: 'exact' });
    const mad = cropped.reduce((s, v, i) => s + Math.abs(v - orig[i]!), 0) / cropped.length;
    expect(mad).toBeLessThan(0.01);
    const stretched = toModelInput(wide, { ...spec, fit: 'resize' });
    expect(stretched.reduce((s, v, i) => s + Math.abs(v - orig[i]!), 0) / stretched.length).toBeGreaterThan(0.05);
  });

  it('bgr swaps the colour channels', () => {
    const px: RawImage = { width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) };
    const rgb = toModelInput(px, { channels: 3, height: 1, width: 1, fit: 'exact', mean: [0, 0, 0], std: [1, 1, 1] });
    const bgr = toModelInput(px, { channels: 3, height: 1, width: 1, fit: 'exact', mean: [0, 0, 0], std: [1, 1, 1], bgr: true });
    expect(Array.from(rgb)).toEqual([1, 0, 0]);
    expect(Array.from(bgr)).toEqual([0, 0, 1]);
  });

  it('an image folder with labels by index or class name; a missing label or a bad file is named', async () => {
    const dir = tempDir();
    for (let i = 0; i < 3; i++) writeFileSync(path.join(dir, `a${i}.png`), upscaledPng(i, 56, 56));
    writeFileSync(path.join(dir, 'labels.csv'), `file,label\na0.png,${set.labels[0]}\na1.png,${set.labels[1]}\na2.png,Bag\n`);
    const f = await loadImageFolder(dir, { ...spec, classes: ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] }, path.join(dir, 'labels.csv'));
    expect(f.inputs).toHaveLength(3);
    expect(f.labels).toEqual([set.labels[0], set.labels[1], 8]);
    writeFileSync(path.join(dir, 'short.csv'), 'file,label\na0.png,1\n');
    await expect(loadImageFolder(dir, spec, path.join(dir, 'short.csv'))).rejects.toThrow(/no label for 2 image/);
    writeFileSync(path.join(dir, 'z.png'), Buffer.from('not an image'));
    await expect(loadImageFolder(dir, spec)).rejects.toThrow(UserError);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    await expect(loadImageFolder(empty, spec)).rejects.toThrow(/has no \.png/);
  });

  it('cache replay --images replays a folder of images of another size, scored by its labels', () => {
    const dir = tempDir();
    const lines = ['file,label'];
    for (let i = 0; i < 12; i++) {
      writeFileSync(path.join(dir, `i${String(i).padStart(2, '0')}.png`), upscaledPng(i, 42, 42));
      lines.push(`i${String(i).padStart(2, '0')}.png,${set.labels[i]}`);
    }
    writeFileSync(path.join(dir, 'labels.csv'), lines.join('\n') + '\n');
    const db = path.join(tempDir(), 'x.db');
    const r = cli(['cache', 'replay', '--model', 'fmnist', '--images', dir, '--labels', path.join(dir, 'labels.csv'), '--fit', 'resize', '--requests', '24', '--min-calibration', '10'], db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0–24 .* \d+\.\d % \(\d+\.\d %\)/);
    const noFit = cli(['cache', 'replay', '--model', 'fmnist', '--images', dir, '--requests', '5'], db);
    expect(noFit.code).toBe(2);
    expect(noFit.stderr).toMatch(/i00\.png: image: image is 42×42, this model takes 28×28/);
    expect(cli(['cache', 'replay', '--model', 'fmnist', '--labels', 'x.csv'], db).stderr).toMatch(/--labels: goes with --images/);
  }, 120_000);
});
