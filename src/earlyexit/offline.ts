import type { Cascade } from './cascade.js';
import { argmax, CacheHead, DEFAULT_HEAD } from './head.js';
import type { SegmentedModel } from './segments.js';

export interface OfflineBaseline {
  heads: CacheHead[];
  cascade: Cascade;
  /** the single confidence threshold shared by every exit (SDN-style) */
  threshold: number;
  validation: { backboneAccuracy: number; accuracy: number; exitRate: number; samples: number };
  trainSamples: number;
}

/**
 * The comparison point from the literature (BranchyNet / SDN style): exit heads at *every* cut,
 * trained offline with the true labels, and one confidence threshold for all of them chosen on a
 * labelled validation split as the lowest that keeps validation accuracy within `maxDrop` of the
 * backbone's. Same head architecture and features as the online caches, so only the training
 * signal and the policy differ.
 */
export async function trainOfflineBaseline(
  model: SegmentedModel,
  inputs: Float32Array[],
  labels: number[],
  o: { validationShare?: number; epochs?: number; hidden?: number; maxDrop?: number; seed?: number } = {},
): Promise<OfflineBaseline> {
  const classes = model.classes;
  const nVal = Math.round(inputs.length * (o.validationShare ?? 0.25));
  const feats: Float32Array[][] = [];
  const backboneTop: number[] = [];
  for (const x of inputs) {
    const r = await model.runAudit(x);
    feats.push(r.features);
    backboneTop.push(argmax(r.output));
  }
  const trainIdx = inputs.map((_, i) => i).slice(nVal);
  const valIdx = inputs.map((_, i) => i).slice(0, nVal);
  const oneHot = (l: number) => Float32Array.from({ length: classes }, (_, c) => (c === l ? 1 : 0));
  const heads = model.cuts.map((_, i) => new CacheHead(model.featureDims[i]!, classes, { hidden: o.hidden ?? DEFAULT_HEAD.hidden, learningRate: 2e-3, seed: (o.seed ?? 1) * 977 + i }));
  for (const [i, h] of heads.entries()) {
    await h.fit(trainIdx.map((j) => feats[j]![i]!), trainIdx.map((j) => oneHot(labels[j]!)), { epochs: o.epochs ?? 15, batchSize: 64 });
  }
  // validation: pick the lowest shared threshold that keeps accuracy within maxDrop of the backbone
  const valProbs = valIdx.map((j) => heads.map((h, i) => h.predict(feats[j]![i]!)));
  const backboneAcc = valIdx.filter((j) => backboneTop[j] === labels[j]).length / Math.max(1, nVal);
  const evaluate = (q: number) => {
    let correct = 0;
    let exits = 0;
    valIdx.forEach((j, v) => {
      const exitAt = valProbs[v]!.findIndex((p) => p[argmax(p)]! >= q);
      const pred = exitAt >= 0 ? argmax(valProbs[v]![exitAt]!) : backboneTop[j]!;
      if (exitAt >= 0) exits++;
      if (pred === labels[j]) correct++;
    });
    return { accuracy: correct / Math.max(1, nVal), exitRate: exits / Math.max(1, nVal) };
  };
  const maxDrop = o.maxDrop ?? 0.005;
  let threshold = 1.0001;
  let val = evaluate(threshold);
  for (let k = 0; k <= 400; k++) {
    const q = 0.5 + (0.5 * k) / 400;
    const e = evaluate(q);
    if (e.accuracy >= backboneAcc - maxDrop) {
      threshold = q;
      val = e;
      break;
    }
  }
  return {
    heads,
    cascade: { caches: model.cuts.map((_, i) => i), thresholds: model.cuts.map(() => threshold) },
    threshold,
    validation: { backboneAccuracy: backboneAcc, ...val, samples: nVal },
    trainSamples: trainIdx.length,
  };
}
