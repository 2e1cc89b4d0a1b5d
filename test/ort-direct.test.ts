import { readFileSync } from 'node:fs';
import ort from '../src/runtimes/ort-node.js';
import { describe, expect, it } from 'vitest';
import { DirectSession } from '../src/runtimes/ort-direct.js';
import { sessionOptions } from '../src/runtimes/ort.js';
import { Rng } from '../src/util/random.js';

// the early-exit request path runs its segments through the native binding directly: same answers as the public API
describe('DirectSession', () => {
  const bytes = readFileSync('assets/models/fmnist-vgg7.onnx');

  it('answers what onnxruntime-node public InferenceSession answers, for every output', async () => {
    const pub = await ort.InferenceSession.create(bytes, sessionOptions(1));
    const direct = DirectSession.create(bytes, sessionOptions(1));
    expect(direct.inputNames).toEqual(pub.inputNames);
    expect(direct.outputNames).toEqual(pub.outputNames);
    const rng = new Rng(4);
    for (let i = 0; i < 5; i++) {
      const x = new ort.Tensor('float32', Float32Array.from({ length: 784 }, () => rng.next()), [1, 1, 28, 28]);
      const a = await pub.run({ [pub.inputNames[0]!]: x });
      const b = direct.run({ [direct.inputNames[0]!]: x });
      for (const name of pub.outputNames) {
        expect(b[name]!.dims).toEqual(a[name]!.dims);
        expect(b[name]!.type).toBe(a[name]!.type);
        expect(Array.from(b[name]!.data as Float32Array)).toEqual(Array.from(a[name]!.data as Float32Array));
      }
    }
    await pub.release();
    direct.release();
  });

  it('names a missing input, refuses use after release, reports a bad model', () => {
    const direct = DirectSession.create(bytes, sessionOptions(1));
    expect(() => direct.run({})).toThrow(/input '.+' is missing from the feeds/);
    direct.release();
    direct.release(); // twice is harmless
    expect(() => direct.run({})).toThrow(/after release/);
    expect(() => DirectSession.create(Uint8Array.of(1, 2, 3), sessionOptions(1))).toThrow();
  });
});
