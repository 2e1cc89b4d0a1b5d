import { describe, expect, it } from 'vitest';
import { bundledFashionMnist, imageAsInput } from '../src/data/fmnist.js';
import { argmax, CacheHead } from '../src/earlyexit/head.js';
import { PPOCR_CLS_SHAPE, ppocrClassifierPath } from '../src/earlyexit/ppocr.js';
import { SegmentedModel } from '../src/earlyexit/segments.js';
import { FMNIST_BACKBONE } from '../src/earlyexit/setup.js';
import { Rng } from '../src/util/random.js';

/**
 * A cache head compiled into the ONNX segment must answer exactly what the JS head answers on the
 * pooled features the same segment outputs (calibration is done with the JS head).
 */
async function compiledMatchesJs(model: SegmentedModel, inputs: Float32Array[]) {
  await model.warm(inputs[0]!);
  const cut = 1;
  const feats: Float32Array[] = [];
  const teacher: Float32Array[] = [];
  for (const x of inputs) {
    const r = await model.runAudit(x);
    feats.push(Float32Array.from(r.features[cut]!));
    const p = Float32Array.from(r.output);
    teacher.push(Float32Array.from({ length: p.length }, (_, c) => (c === argmax(p) ? 1 : 0)));
  }
  const head = new CacheHead(model.featureDims[cut]!, model.classes, { hidden: 32, learningRate: 2e-3, seed: 5 });
  await head.fit(feats, teacher, { epochs: 2, batchSize: 32 });
  const run = async (x: Float32Array) => model.runSegment(-1, cut, model.inputTensor(x));
  expect((await run(inputs[0]!)).probs).toBeUndefined();

  await model.updateHeads([[cut, head.compiled()]], [[-1, cut]]);
  let maxDiff = 0;
  for (const x of inputs.slice(0, 20)) {
    const seg = await run(x);
    const js = head.predict(seg.pooled.get(cut)!);
    seg.probs!.forEach((v, c) => (maxDiff = Math.max(maxDiff, Math.abs(v - js[c]!))));
  }
  // retraining replaces the compiled head: the segment follows the new weights
  const before = Float32Array.from((await run(inputs[0]!)).probs!);
  const inFlight = await model.segmentSession(-1, cut);
  await head.fit(feats, teacher, { epochs: 3, batchSize: 32 });
  await model.updateHeads([[cut, head.compiled()]], [[-1, cut]]);
  // a request that picked up the old session before the switch can still finish on it
  const old = await inFlight.run({ [inFlight.inputNames[0]!]: model.inputTensor(inputs[0]!) });
  expect(Math.max(...before.map((v, c) => Math.abs(v - (old[inFlight.outputNames.at(-1)!]!.data as Float32Array)[c]!)))).toBeLessThan(1e-6);
  const after = await run(inputs[0]!);
  const js = head.predict(after.pooled.get(cut)!);
  await model.updateHeads([[cut, null]], []);
  const removed = await run(inputs[0]!);
  await model.dispose();
  return { maxDiff, changed: Math.max(...before.map((v, c) => Math.abs(v - after.probs![c]!))), afterDiff: Math.max(...js.map((v, c) => Math.abs(v - after.probs![c]!))), removed: removed.probs };
}

describe('cache heads compiled into the ONNX segments', () => {
  it('our Fashion-MNIST backbone: same probabilities as the JS head, follows retraining, can be removed', async () => {
    const set = bundledFashionMnist();
    const r = await compiledMatchesJs(await SegmentedModel.open(FMNIST_BACKBONE), Array.from({ length: 200 }, (_, i) => imageAsInput(set, i)));
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.changed).toBeGreaterThan(1e-4);
    expect(r.afterDiff).toBeLessThan(1e-4);
    expect(r.removed).toBeUndefined();
  });

  it('PP-OCR classifier (opset 9): same', async () => {
    const rng = new Rng(4);
    const model = await SegmentedModel.open(await ppocrClassifierPath(), { inputShape: PPOCR_CLS_SHAPE });
    const inputs = Array.from({ length: 120 }, () => Float32Array.from({ length: model.inputSize }, () => rng.next() * 2 - 1));
    const r = await compiledMatchesJs(model, inputs);
    expect(r.maxDiff).toBeLessThan(1e-4);
    expect(r.afterDiff).toBeLessThan(1e-4);
  });
});
