import { byAccuracy, firstUnderBudget } from '../nas/evolution.js';
import { excluding } from '../transfer/metrics.js';
import { median, spearman } from '../util/stats.js';

/** Spearman, share within ±10 % and median absolute percentage error over every row not skipped */
export function latencyMetrics(pred: ArrayLike<number>, truth: ArrayLike<number>, skip: readonly number[] = []): { spearman: number; within10: number; medianApe: number } {
  const [p, t] = excluding(pred, truth, skip);
  const ape = p.map((v, i) => Math.abs(v / t[i]! - 1));
  return { spearman: spearman(p, t), within10: ape.filter((e) => e <= 0.1).length / ape.length, medianApe: median(ape) * 100 };
}

/** latency budgets at quantiles of a device's true latency distribution */
export function budgetsAt(truth: ArrayLike<number>, qs: readonly number[]): number[] {
  const sorted = Float64Array.from(truth).sort();
  return qs.map((q) => sorted[Math.floor(q * (sorted.length - 1))]!);
}

export interface BudgetOutcome {
  budgetMs: number;
  chosen: number;
  best: number;
  /** objective points lost to the true best under the budget */
  regret: number;
  /** the chosen design's true latency breaks the budget */
  violated: boolean;
}

/** the outcome of choosing `chosen` under a budget, against the exhaustive best of the table */
export function judgeChoice(chosen: number, budgetMs: number, truth: ArrayLike<number>, objective: ArrayLike<number>, order = byAccuracy(objective)): BudgetOutcome {
  const best = firstUnderBudget(truth, order, budgetMs);
  return { budgetMs, chosen, best, regret: objective[best]! - objective[chosen]!, violated: truth[chosen]! > budgetMs };
}

/** NAS with a full-space latency prediction: the most accurate design predicted to meet the budget */
export function searchWithPrediction(predMs: ArrayLike<number>, budgetMs: number, order: Int32Array): number {
  const a = firstUnderBudget(predMs, order, budgetMs);
  if (a >= 0) return a;
  let fastest = 0;
  for (let i = 1; i < predMs.length; i++) if (predMs[i]! < predMs[fastest]!) fastest = i;
  return fastest;
}
