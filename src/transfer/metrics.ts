import { Rng } from '../util/random.js';
import { spearman } from '../util/stats.js';

/** Kendall τ-b on a fixed random subset (O(m²); m = 3,000 keeps it well under a second) */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>, subset = 3000, seed = 1): number {
  const idx = new Rng(seed).shuffle(Array.from({ length: a.length }, (_, i) => i)).slice(0, Math.min(subset, a.length));
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let x = 0; x < idx.length; x++) {
    for (let y = x + 1; y < idx.length; y++) {
      const da = a[idx[x]!]! - a[idx[y]!]!;
      const db = b[idx[x]!]! - b[idx[y]!]!;
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da * db > 0) concordant++;
      else discordant++;
    }
  }
  const n0 = concordant + discordant;
  return (concordant - discordant) / Math.sqrt((n0 + tiesA) * (n0 + tiesB) || 1);
}

/** rank metrics of a prediction over every architecture except the measured ones */
export function rankMetrics(pred: ArrayLike<number>, truth: ArrayLike<number>, measured: number[]): { spearman: number; kendall: number } {
  const [p, t] = excluding(pred, truth, measured);
  return { spearman: spearman(p, t), kendall: kendallTau(p, t) };
}

/** prediction and truth over every row not in `skip` (the measured ones are not a prediction) */
export function excluding(pred: ArrayLike<number>, truth: ArrayLike<number>, skip: readonly number[]): [number[], number[]] {
  const s = new Set(skip);
  const p: number[] = [];
  const t: number[] = [];
  for (let i = 0; i < truth.length; i++) {
    if (s.has(i)) continue;
    p.push(pred[i]!);
    t.push(truth[i]!);
  }
  return [p, t];
}
