/** a design is chosen only if its RMSPE on the choice data is at most this × the lowest of any design's */
export const RMSPE_GUARD = 1.25;

/**
 * The design bench:models keeps: the largest share within ±10 % on the choice data (ties: the lower
 * RMSPE) among the designs whose RMSPE is within RMSPE_GUARD of the lowest. On wasm a design with
 * per-op prices put 0.8 points more within ±10 % than the next at 4× its RMSPE (27 vs 6.5 %): a
 * few networks predicted wildly wrong (reports/models-history.md, session 31).
 */
export function chooseDesign<T extends { val: { within10: number; rmspe: number } }>(candidates: readonly T[], guard = RMSPE_GUARD): { best: T; lowestRmspe: number } {
  if (!candidates.length) throw new Error('no design to choose from');
  const lowestRmspe = Math.min(...candidates.map((c) => c.val.rmspe));
  const admissible = candidates.filter((c) => c.val.rmspe <= guard * lowestRmspe);
  const best = admissible.reduce((a, b) => (b.val.within10 > a.val.within10 + 1e-9 || (Math.abs(b.val.within10 - a.val.within10) < 1e-9 && b.val.rmspe < a.val.rmspe) ? b : a));
  return { best, lowestRmspe };
}
