import { mape, quantile, spearman } from '../util/stats.js';

/** Accuracy of predicted vs measured latencies, the figures every RM report uses. */
export interface Accuracy {
  n: number;
  /** share of predictions within ±5 % / ±10 % of the measurement */
  within5: number;
  within10: number;
  /** root mean squared percentage error (%) */
  rmspe: number;
  /** mean absolute percentage error (%) */
  mape: number;
  /** 90th percentile of the absolute percentage error (%) */
  p90ape: number;
  /** R² of log latency (latency spans orders of magnitude: R² in ms would only see the largest) */
  r2log: number;
  spearman: number;
}

export function accuracy(pred: readonly number[], truth: readonly number[]): Accuracy {
  const ape = pred.map((p, i) => Math.abs(p - truth[i]!) / truth[i]!);
  const lp = pred.map(Math.log);
  const lt = truth.map(Math.log);
  const mt = lt.reduce((a, b) => a + b, 0) / lt.length;
  const ssRes = lt.reduce((s, v, i) => s + (v - lp[i]!) ** 2, 0);
  const ssTot = lt.reduce((s, v) => s + (v - mt) ** 2, 0);
  return {
    n: pred.length,
    within5: ape.filter((a) => a <= 0.05).length / ape.length,
    within10: ape.filter((a) => a <= 0.1).length / ape.length,
    rmspe: Math.sqrt(ape.reduce((s, a) => s + a * a, 0) / ape.length) * 100,
    mape: mape(pred, truth),
    p90ape: quantile(ape, 0.9) * 100,
    r2log: ssTot > 0 ? 1 - ssRes / ssTot : NaN,
    spearman: pred.length > 2 ? spearman(pred, truth) : NaN,
  };
}

/** Pools several accuracies as if their predictions had been one list (weights = n). */
export function pooled(list: readonly Accuracy[]): Accuracy {
  const n = list.reduce((s, a) => s + a.n, 0);
  const w = (f: (a: Accuracy) => number) => list.reduce((s, a) => s + f(a) * a.n, 0) / n;
  return {
    n,
    within5: w((a) => a.within5),
    within10: w((a) => a.within10),
    rmspe: Math.sqrt(w((a) => a.rmspe ** 2)),
    mape: w((a) => a.mape),
    p90ape: w((a) => a.p90ape),
    r2log: w((a) => a.r2log),
    spearman: w((a) => a.spearman),
  };
}

