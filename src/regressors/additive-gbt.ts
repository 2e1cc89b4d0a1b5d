import { ADDITIVE_WORK_COLUMNS } from './features.js';
import { gbt } from './gbt.js';
import { fitNonNegativeRelative } from './ridge.js';
import type { FitContext, Regressor, RegressorKind } from './types.js';

/**
 * A kernel's time is a sum — a fixed cost per run, plus time per byte moved, plus time per
 * operation — and a sum of terms is what a model in log space (every other RM here) bends least
 * easily: log(a + b·bytes + c·flops) is neither linear nor a product in log bytes and log flops.
 * So first an additive model in milliseconds (a constant, and non-negative costs per unit of each
 * work total the feature space names — bytes in, bytes out, FLOPs, and for convolutions the loop
 * nest of MLAS's kernels — fitted in relative error), then the zoo's boosted trees on the log of
 * what it leaves, with its log answer as one more feature. Chosen on bench:regressors' validation
 * splits (`node scripts/module-features-study.mjs`, reports/regressors-history.md, sessions 54–55).
 */
interface AdditiveGbtState {
  /** cost per unit of [1, ...the work columns' values] */
  costs: number[];
  /** the feature columns holding log1p of each work total (absent in models stored before session 55: ADDITIVE_WORK_COLUMNS) */
  columns?: number[];
  trees: unknown;
}

/** the smallest additive answer used (ms): a fit whose costs are all 0 must still divide */
const FLOOR_MS = 1e-6;

/** the additive model's answer for one feature vector (features hold log1p of each work total) */
function additiveMs(costs: readonly number[], columns: readonly number[], x: readonly number[]): number {
  let ms = costs[0]!;
  for (let j = 0; j < columns.length; j++) ms += costs[j + 1]! * Math.expm1(x[columns[j]!]!);
  return Math.max(FLOOR_MS, ms);
}

const withAdditive = (x: number[], ms: number) => [...x, Math.log(ms)];

class AdditiveGbt implements Regressor {
  readonly kind = 'addgbt';
  constructor(private readonly seed: number, private costs?: number[], private trees?: Regressor, private columns: readonly number[] = ADDITIVE_WORK_COLUMNS) {}

  async fit(X: number[][], yMs: number[], ctx?: FitContext): Promise<void> {
    const columns = [...(ctx?.additiveColumns ?? ADDITIVE_WORK_COLUMNS)];
    const bad = columns.find((j) => !Number.isInteger(j) || j < 0 || (X.length > 0 && j >= X[0]!.length));
    if (bad !== undefined) throw new Error(`addgbt: work column ${bad} is not a column of the ${X[0]?.length ?? 0} features`);
    const work = X.map((x) => [1, ...columns.map((j) => Math.expm1(x[j]!))]);
    const costs = fitNonNegativeRelative(work, yMs);
    const add = X.map((x) => additiveMs(costs, columns, x));
    const trees = gbt.create(this.seed);
    // trees learn log(y / additive): the ratio's log is what gbt fits when given the ratio
    await trees.fit(X.map((x, i) => withAdditive(x, add[i]!)), yMs.map((y, i) => y / add[i]!));
    [this.costs, this.trees, this.columns] = [costs, trees, columns];
  }

  predict(X: number[][]): number[] {
    const { costs, trees } = this;
    if (!costs || !trees) throw new Error('addgbt: predict before fit');
    const add = X.map((x) => additiveMs(costs, this.columns, x));
    return trees.predict(X.map((x, i) => withAdditive(x, add[i]!))).map((ratio, i) => ratio * add[i]!);
  }

  toJSON(): AdditiveGbtState {
    if (!this.costs || !this.trees) throw new Error('addgbt: toJSON before fit');
    return { costs: this.costs, columns: [...this.columns], trees: this.trees.toJSON() };
  }
}

function load(json: unknown): AdditiveGbtState {
  const s = json as AdditiveGbtState | undefined;
  const columns = s?.columns ?? ADDITIVE_WORK_COLUMNS;
  // the trees see every feature and the additive answer: a work column must be one of those features
  const features = ((s?.trees as { base?: { mean?: unknown[] } } | undefined)?.base?.mean?.length ?? 0) - 1;
  const colsOk = Array.isArray(columns) && columns.every((j) => Number.isInteger(j) && j >= 0 && j < features);
  const ok = !!s && colsOk && Array.isArray(s.costs) && s.costs.length === columns.length + 1 && s.costs.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0);
  if (!ok) throw new Error('the stored addgbt state is damaged (its work columns or additive costs are missing, negative or not numbers)');
  return s;
}

export const additiveGbt: RegressorKind = {
  kind: 'addgbt',
  description: 'an additive model in ms (constant + non-negative costs per byte in, byte out, FLOP and, for convolutions, per step of MLAS\'s loop nest) with the boosted trees on its log residual',
  library: 'own',
  create: (seed) => new AdditiveGbt(seed),
  load: (json) => {
    const s = load(json);
    return new AdditiveGbt(0, s.costs, gbt.load(s.trees), s.columns ?? ADDITIVE_WORK_COLUMNS);
  },
};
