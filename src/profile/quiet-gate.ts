import { median } from '../util/stats.js';

/**
 * Whether a chunk was measured in the host's quiet state, judged by the module's reference
 * configuration timed in every round of the chunk (profile --reference).
 *
 * Why re-measure instead of dividing by the reference: the 2-vCPU VM this project is measured on
 * has slow phases lasting seconds to minutes, in which the conv2d reference runs 1.4–1.9× slower
 * and the configurations of the same chunk 1.15–1.9× slower, each by its own factor
 * (scripts/reference-rounds-check.mjs, session 48). A chunk measured entirely in such a phase
 * cannot be put back at the quiet state by any ratio; measured again later, it usually can be
 * measured quiet. The profiler defers a slow chunk to after the rest of the plan, and keeps its
 * quietest measurement when the retries are spent.
 */
export interface QuietGateOptions {
  /** a round counts as quiet when the reference's round median is within this share of the quietest seen */
  tolerance: number;
  /**
   * times a slow chunk is measured again before its quietest measurement is kept; each retry comes
   * after the rest of the plan (or of the previous retries) has been measured, since a slow phase
   * of the host can last a minute and more
   */
  retries: number;
  /**
   * retry n of a chunk starts at least n × this many seconds after its previous measurement: the
   * last chunks of a plan have no rest of the plan to wait behind, and a slow phase can outlast
   * back-to-back retries (session 48, before the gaps: the configurations of the 4 chunks kept slow
   * in a 160-configuration re-measurement agreed with their first run within ±10 % for 13 %, the
   * rest for 87 %)
   */
  gapS: number;
}

export const DEFAULT_QUIET_GATE: QuietGateOptions = { tolerance: 0.2, retries: 3, gapS: 15 };

/** chunks in a row kept slow after every retry before the quiet level is taken to have moved */
const RESET_AFTER = 3;

export class QuietGate {
  private quietest = Infinity;
  private exhausted: number[] = [];
  /** chunk measurements repeated because the host was slow, and chunks kept slow after every retry */
  retried = 0;
  keptSlow = 0;

  constructor(readonly opts: QuietGateOptions = DEFAULT_QUIET_GATE) {}

  /** a reference timing from before this run (the store's, for this module and device setting) */
  seed(refMs: number): void {
    if (Number.isFinite(refMs) && refMs > 0) this.quietest = Math.min(this.quietest, refMs);
  }

  /** true when most of the reference's rounds in this measurement of a chunk were quiet */
  isQuiet(refRoundsMs: readonly number[]): boolean {
    for (const r of refRoundsMs) this.seed(r);
    const limit = this.quietest * (1 + this.opts.tolerance);
    return refRoundsMs.filter((r) => r <= limit).length * 2 > refRoundsMs.length;
  }

  /** how slow a measurement's reference ran (lower is quieter): to keep the quietest of a chunk's attempts */
  static score(refRoundsMs: readonly number[]): number {
    return median(refRoundsMs);
  }

  /**
   * A chunk is kept although none of its measurements was quiet. After a few in a row, the quiet
   * level is taken to have moved (the host got slower for good, or the first reference was an
   * outlier) and their level counts as quiet from then on.
   */
  keptAfterRetries(score: number): void {
    this.keptSlow++;
    this.exhausted.push(score);
    if (this.exhausted.length >= RESET_AFTER) {
      this.quietest = Math.min(...this.exhausted);
      this.exhausted = [];
    }
  }

  /** a chunk measured quiet: the run of chunks kept slow is broken */
  keptQuiet(): void {
    this.exhausted = [];
  }
}
