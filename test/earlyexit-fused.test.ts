import { describe, expect, it } from 'vitest';
import { bundledFashionMnist, imageAsInput } from '../src/data/fmnist.js';
import { argmax, CacheHead } from '../src/earlyexit/head.js';
import { PPOCR_CLS_SHAPE, ppocrClassifierPath } from '../src/earlyexit/ppocr.js';
import { SegmentedModel } from '../src/earlyexit/segments.js';
import { FMNIST_BACKBONE } from '../src/earlyexit/setup.js';
import { median } from '../src/util/stats.js';
import { Rng } from '../src/util/random.js';

/** heads at `cuts`, briefly trained on the backbone's answers, compiled into the model */
async function withHeads(model: SegmentedModel, inputs: Float32Array[], cuts: number[]) {
  await model.warm(inputs[0]!);
  const audits = await Promise.all(inputs.map((x) => model.runAudit(x)));
  const teacher = audits.map((r) => Float32Array.from({ length: r.output.length }, (_, c) => (c === argmax(r.output) ? 1 : 0)));
  const train = async (cut: number, seed: number) => {
    const head = new CacheHead(model.featureDims[cut]!, model.classes, { hidden: 32, learningRate: 2e-3, seed });
    await head.fit(audits.map((r) => Float32Array.from(r.features[cut]!)), teacher, { epochs: 2, batchSize: 32 });
    return head;
  };
  for (const cut of cuts) await model.updateHeads([[cut, (await train(cut, 5 + cut)).compiled()]], []);
  return train;
}

describe('the fused cascade (one onnxruntime session, exits as If nodes)', () => {
  it('answers exactly what the segmented path answers: same exit, probabilities and features, skips included', async () => {
    const set = bundledFashionMnist();
    const inputs = Array.from({ length: 120 }, (_, i) => imageAsInput(set, i));
    const model = await SegmentedModel.open(FMNIST_BACKBONE);
    const C = model.cuts.length;
    const caches = [1, 3];
    const train = await withHeads(model, inputs, caches);
    expect(await model.prepareCascade(caches, [true, false])).toBe(true);
    // thresholds at the heads' median confidence, so every path is taken
    const conf = async (from: number, to: number, x: Float32Array) => Math.max(...(await model.runSegment(from, to, model.inputTensor(x))).probs!);
    const c1 = await Promise.all(inputs.slice(0, 40).map((x) => conf(-1, 1, x)));
    const th = [median(c1), 0.6];
    const skip = [Math.min(...c1) + (median(c1) - Math.min(...c1)) / 2];
    const seen = new Set<number>();
    for (const x of inputs.slice(0, 60)) {
      // the segmented path, by hand
      const s1 = await model.runSegment(-1, 1, model.inputTensor(x));
      let want: { exit: number; out: Float32Array; reached: number };
      const p1 = s1.probs!;
      if (Math.max(...p1) >= th[0]!) want = { exit: 0, out: p1, reached: 1 };
      else if (Math.max(...p1) < skip[0]!) want = { exit: 3, out: (await model.runSegment(1, C, s1.next)).output!, reached: C - 1 };
      else {
        const s3 = await model.runSegment(1, 3, s1.next);
        if (Math.max(...s3.probs!) >= th[1]!) want = { exit: 1, out: s3.probs!, reached: 3 };
        else want = { exit: 2, out: (await model.runSegment(3, C, s3.next)).output!, reached: C - 1 };
      }
      const got = (await model.runCascade(caches, [true, false], model.inputTensor(x), th, skip))!;
      expect(got.exit).toBe(want.exit);
      seen.add(got.exit);
      for (let c = 0; c < want.out.length; c++) expect(Math.abs(got.out[c]! - want.out[c]!)).toBeLessThan(1e-4);
      // features: every cut the request passed, nothing after
      const audit = await model.runAudit(x);
      got.pooled.forEach((f, i) => {
        if (i > want.reached) expect(f.length).toBe(0);
        else {
          expect(f.length).toBe(model.featureDims[i]);
          for (let k = 0; k < f.length; k += 37) expect(Math.abs(f[k]! - audit.features[i]![k]!)).toBeLessThan(1e-4);
        }
      });
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    // a retrained head retires the fused session: until it is rebuilt the caller gets undefined (segmented path)
    const head = await train(1, 9);
    await model.updateHeads([[1, head.compiled()]], []);
    expect(await model.runCascade(caches, [true, false], model.inputTensor(inputs[0]!), th, skip)).toBeUndefined();
    // built together with new heads, it is ready the moment they switch in
    await model.updateHeads([[1, head.compiled()]], [], { caches, skips: [true, false] });
    expect(await model.runCascade(caches, [true, false], model.inputTensor(inputs[0]!), th, skip)).toBeDefined();
    await model.dispose();
  }, 120_000);

  it('builds and runs on the PP-OCR classifier (opset 9)', async () => {
    const rng = new Rng(4);
    const model = await SegmentedModel.open(await ppocrClassifierPath(), { inputShape: PPOCR_CLS_SHAPE });
    const inputs = Array.from({ length: 60 }, () => Float32Array.from({ length: model.inputSize }, () => rng.next() * 2 - 1));
    const caches = [2, 5].filter((c) => c < model.cuts.length);
    await withHeads(model, inputs, caches);
    expect(await model.prepareCascade(caches, caches.map(() => false))).toBe(true);
    const run = (th: number) => model.runCascade(caches, caches.map(() => false), model.inputTensor(inputs[0]!), caches.map(() => th), []);
    expect((await run(0))!.exit).toBe(0);
    const end = (await run(2))!;
    expect(end.exit).toBe(caches.length);
    const full = await model.runFull(inputs[0]!);
    full.forEach((v, c) => expect(Math.abs(end.out[c]! - v)).toBeLessThan(1e-4));
    await model.dispose();
  }, 120_000);
});
