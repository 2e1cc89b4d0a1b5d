import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ort from '../src/runtimes/ort-node.js';
import { describe, expect, it } from 'vitest';
import { analyseGraph, extractSegment, spreadCuts } from '../src/earlyexit/onnx-graph.js';
import { decodeOnnxModel, loadOnnxModel, resolveInputShape } from '../src/ir/onnx-load.js';
import { PPOCR_CLS_SHAPE, ppocrClassifierPath } from '../src/earlyexit/ppocr.js';
import { FMNIST_BACKBONE } from '../src/earlyexit/setup.js';
import { isUserError } from '../src/util/errors.js';
import { Rng } from '../src/util/random.js';
import { tempDir } from './helpers.js';

/** runs the chain input → cut 0 → … → output and the original model on the same input */
async function chainVsFull(file: string, shapeOverride?: number[]) {
  const model = loadOnnxModel(file);
  const shape = resolveInputShape(model, shapeOverride, file);
  const a = await analyseGraph(ort, model, shape);
  const cuts = spreadCuts(a, 6);
  const rng = new Rng(3);
  const x = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.next());
  const full = await ort.InferenceSession.create(readFileSync(file));
  const ref = (await full.run({ [a.inputName]: new ort.Tensor('float32', x, shape) }))[a.outputName]!.data as Float32Array;
  let t: ort.Tensor = new ort.Tensor('float32', x, shape);
  const pts = [null, ...cuts, null];
  const featureLengths: number[] = [];
  for (let i = 0; i < pts.length - 1; i++) {
    const to = pts[i + 1] ?? null;
    const seg = await ort.InferenceSession.create(extractSegment(model, a, pts[i] ?? null, to, to ? [to] : [], () => 2));
    const r = await seg.run({ [seg.inputNames[0]!]: t });
    t = r[seg.outputNames[0]!]!;
    if (to) featureLengths.push(r[seg.outputNames[1]!]!.data.length);
  }
  const out = t.data as Float32Array;
  return { a, cuts, maxDiff: Math.max(...ref.map((v, i) => Math.abs(v - out[i]!))), featureLengths };
}

describe('cutting a pretrained ONNX classifier into segments', () => {
  it('our Fashion-MNIST backbone: ≥ 6 conv stages, cut points after the stages, chained segments = the model', async () => {
    const r = await chainVsFull(FMNIST_BACKBONE);
    const ops = loadOnnxModel(FMNIST_BACKBONE).graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Conv').length).toBeGreaterThanOrEqual(6);
    expect(r.cuts.length).toBeGreaterThanOrEqual(5);
    expect(r.maxDiff).toBeLessThan(1e-4);
    // flops increase along the cuts and stay inside the model
    const f = r.cuts.map((c) => c.flopsBefore);
    expect([...f].sort((x, y) => x - y)).toEqual(f);
    expect(f.at(-1)!).toBeLessThan(r.a.totalFlops);
    // grid 2: (4 cells + 1 max) × channels features
    r.cuts.forEach((c, i) => expect(r.featureLengths[i]).toBe(5 * c.channels));
  });

  it('PP-OCR text-direction classifier (third party, opset 9, weights as Constant nodes): same', async () => {
    const r = await chainVsFull(await ppocrClassifierPath(), PPOCR_CLS_SHAPE);
    expect(r.a.outputIsProbability).toBe(true);
    expect(r.cuts.length).toBe(6);
    expect(r.maxDiff).toBeLessThan(1e-4);
  });

  it('a dynamic input without --input-shape is a clear error', async () => {
    const file = await ppocrClassifierPath();
    expect(() => resolveInputShape(loadOnnxModel(file), undefined, file)).toThrow(/dynamic dims 2, 3: give --input-shape/);
  });
});

describe('ONNX parser fuzzing: corrupt model files give a UserError naming the file, never a crash', () => {
  const good = readFileSync(FMNIST_BACKBONE);
  const dir = tempDir();
  it('missing file, empty file, random bytes, truncations', () => {
    expect(() => loadOnnxModel(path.join(dir, 'nope.onnx'))).toThrow(/nope\.onnx: cannot read model file \(ENOENT\)/);
    const rng = new Rng(11);
    const cases: Uint8Array[] = [new Uint8Array(0), Uint8Array.from({ length: 300 }, () => rng.int(0, 255))];
    for (let k = 0; k < 30; k++) cases.push(good.subarray(0, rng.int(1, good.length - 1)));
    for (const [i, bytes] of cases.entries()) {
      const f = path.join(dir, `case${i}.onnx`);
      writeFileSync(f, bytes);
      try {
        loadOnnxModel(f);
      } catch (e) {
        expect(isUserError(e), String(e)).toBe(true);
        expect((e as Error).message).toContain(f);
      }
    }
    expect(() => decodeOnnxModel(new Uint8Array(0), 'empty.onnx')).toThrow(/empty\.onnx: ONNX model has no graph nodes/);
  });

  it('random byte flips: decode either succeeds or fails with a UserError; analysis never throws anything else', async () => {
    const rng = new Rng(5);
    for (let k = 0; k < 40; k++) {
      const bytes = Uint8Array.from(good);
      for (let j = 0; j < 8; j++) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
      try {
        const m = decodeOnnxModel(bytes, 'flipped.onnx');
        await analyseGraph(ort, m, resolveInputShape(m, undefined, 'flipped.onnx'));
      } catch (e) {
        expect(isUserError(e), String(e)).toBe(true);
      }
    }
  });
});
