import { UserError } from '../util/errors.js';
import type { Accuracy } from './metrics.js';

/**
 * How one RM is chosen among the candidates trained on a dataset, from their *validation*
 * accuracy (out of fold where they were cross-validated; never the test set a report quotes) and
 * their cost to run and store.
 * - accuracy: the best ±10 % accuracy (MAPE breaks ties);
 * - time / space: the fastest / smallest among those within TOLERANCE points of the best;
 * - balanced: among those within TOLERANCE, the lowest log(µs) + log(bytes) (both matter).
 * Hard limits drop candidates first; if none is left the error names the limit and the closest.
 */
export const OBJECTIVES = ['accuracy', 'time', 'space', 'balanced'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export interface Limits {
  maxPredictUs?: number;
  maxBytes?: number;
}

export interface Scored {
  kind: string;
  val: Accuracy;
  /** out-of-fold accuracy (candidates.ts crossValidate): when present, what selection compares instead of `val` */
  cv?: Accuracy;
  predictUs: number;
  sizeBytes: number;
}

/** the accuracy selection compares: out of fold where the candidates were cross-validated, else the validation split */
export const selectionAccuracy = (c: Pick<Scored, 'val' | 'cv'>): Accuracy => c.cv ?? c.val;

/** ±10 % accuracy points within which candidates count as equally accurate (time/space/balanced) */
export const TOLERANCE = 0.01;

export function parseObjective(s: string): Objective {
  if (!(OBJECTIVES as readonly string[]).includes(s)) throw new UserError(`expected one of ${OBJECTIVES.join(', ')}, got '${s}'`, '--objective');
  return s as Objective;
}

const byAccuracy = (a: Scored, b: Scored) => selectionAccuracy(b).within10 - selectionAccuracy(a).within10 || selectionAccuracy(a).mape - selectionAccuracy(b).mape;

export function choose<T extends Scored>(cands: readonly T[], objective: Objective = 'balanced', limits: Limits = {}): T {
  if (!cands.length) throw new UserError('no candidate regression model to choose from', 'kinds');
  const ok = cands.filter((c) => c.predictUs <= (limits.maxPredictUs ?? Infinity) && c.sizeBytes <= (limits.maxBytes ?? Infinity));
  if (!ok.length) {
    const fastest = [...cands].sort((a, b) => a.predictUs - b.predictUs)[0]!;
    const smallest = [...cands].sort((a, b) => a.sizeBytes - b.sizeBytes)[0]!;
    const which = limits.maxPredictUs !== undefined && fastest.predictUs > limits.maxPredictUs ? '--max-predict-us' : '--max-bytes';
    throw new UserError(
      `no regression model meets the limits (fastest: ${fastest.kind} at ${fastest.predictUs.toFixed(1)} µs, smallest: ${smallest.kind} at ${smallest.sizeBytes} bytes)`,
      which,
    );
  }
  const ranked = [...ok].sort(byAccuracy);
  if (objective === 'accuracy') return ranked[0]!;
  const best = selectionAccuracy(ranked[0]!).within10;
  const near = ranked.filter((c) => selectionAccuracy(c).within10 >= best - TOLERANCE - 1e-12);
  const cost = {
    time: (c: Scored) => c.predictUs,
    space: (c: Scored) => c.sizeBytes,
    balanced: (c: Scored) => Math.log(Math.max(c.predictUs, 0.01)) + Math.log(Math.max(c.sizeBytes, 1)),
  }[objective];
  return near.sort((a, b) => cost(a) - cost(b) || byAccuracy(a, b))[0]!;
}

/** Sets `pareto` on every candidate: true on the Pareto front (paretoFront), false elsewhere. */
export function markPareto<T extends Scored & { pareto: boolean }>(cands: readonly T[]): void {
  const front = new Set(paretoFront(cands));
  for (const c of cands) c.pareto = front.has(c);
}

/** Candidates no other beats on all of accuracy, prediction time and size (the Pareto front). */
export function paretoFront<T extends Scored>(cands: readonly T[]): T[] {
  const acc = (c: T) => selectionAccuracy(c).within10;
  const dominates = (a: T, b: T) =>
    acc(a) >= acc(b) && a.predictUs <= b.predictUs && a.sizeBytes <= b.sizeBytes &&
    (acc(a) > acc(b) || a.predictUs < b.predictUs || a.sizeBytes < b.sizeBytes);
  return cands.filter((c) => !cands.some((o) => o !== c && dominates(o, c)));
}
