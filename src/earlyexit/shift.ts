const RECENT_ANSWERS = 500;
/**
 * newest answers whose class mix is compared with the reference: a shift shows after ~¼ of this
 * many requests of a new mix (TV threshold 0.25). 200 against a reference of ≥ 500: sampling alone
 * gives TV ≤ 0.2 (simulated, 10 even classes, 20,000 draws), so no false alarms at 0.25.
 */
export const SHIFT_WINDOW = 200;
/** requests between two checks of the answered class mix */
export const SHIFT_CHECK_EVERY = 25;

/**
 * Watches the class mix of recent answers against a reference mix (the calibration data's at
 * first, then the mix seen once past the last shift). Labels never enter: only answers.
 */
export class ShiftDetector {
  /** ring buffer of the last RECENT_ANSWERS answered classes; once full, `next` points at the oldest */
  private readonly recent: number[] = [];
  private next = 0;
  private reference?: Float64Array;
  /** the TV distance sampling alone gives between two windows of the reference mix */
  private noise = 0;
  private lastCheck = 0;
  /** request count before which no new reference mix is taken (the window still holds the old mix) */
  private referenceAfter = 0;
  detected = 0;

  constructor(private readonly classes: number, private readonly threshold: number) {}

  observe(label: number): void {
    if (this.recent.length < RECENT_ANSWERS) this.recent.push(label);
    else this.recent[this.next] = label;
    this.next = (this.next + 1) % RECENT_ANSWERS;
  }

  /** the k newest answered classes */
  private newest(k: number): number[] {
    const r = this.recent;
    if (r.length < RECENT_ANSWERS) return r.slice(-k);
    return Array.from({ length: k }, (_, j) => r[(this.next - k + j + RECENT_ANSWERS) % RECENT_ANSWERS]!);
  }

  /** the reference mix, and its noise floor: the TV between its even- and odd-indexed answers */
  private setReference(labels: number[]): void {
    this.reference = this.hist(labels);
    const even = labels.filter((_, i) => i % 2 === 0).slice(0, SHIFT_WINDOW);
    const odd = labels.filter((_, i) => i % 2 === 1).slice(0, SHIFT_WINDOW);
    this.noise = even.length && odd.length ? this.tv(this.hist(even), this.hist(odd)) : 0;
  }

  private tv(a: Float64Array, b: Float64Array): number {
    let d = 0;
    for (let i = 0; i < this.classes; i++) d += Math.abs(a[i]! - b[i]!) / 2;
    return d;
  }

  private hist(xs: number[]): Float64Array {
    const h = new Float64Array(this.classes);
    for (const x of xs) h[x]! += 1 / xs.length;
    return h;
  }

  /**
   * Checked every SHIFT_CHECK_EVERY requests (far more often than re-planning: until a shift is
   * seen, caches calibrated on the old mix answer the new one). `calibrationLabels` gives the
   * teacher's classes of the calibration records (the first reference). Returns the total-variation
   * distance when it crosses the threshold (a shift), else null.
   */
  check(requests: number, calibrationLabels: () => number[], armed: boolean): number | null {
    if (requests - this.lastCheck < SHIFT_CHECK_EVERY) return null;
    this.lastCheck = requests;
    if (!armed || this.recent.length < SHIFT_WINDOW) return null;
    // after a shift, wait until the recent answers all come from after it: a window straddling the
    // shift is neither mix (taking it as the new reference reported one shift twice, measured)
    if (requests < this.referenceAfter) return null;
    if (!this.reference && this.detected) {
      this.setReference(this.recent);
      return null;
    }
    const a = this.hist(this.newest(SHIFT_WINDOW));
    if (!this.reference) this.setReference(calibrationLabels());
    const b = this.reference!;
    const tv = this.tv(a, b);
    // with many classes, two samples of the same mix already differ a lot (1,000 classes, 200
    // answers: TV ~0.6 with no shift at all, measured on an ImageNet-shaped model): the threshold
    // is raised to 1.5× that noise floor, which with 10 classes (~0.1) leaves it as it is
    if (tv <= Math.max(this.threshold, 1.5 * this.noise)) return null;
    this.reference = undefined;
    this.referenceAfter = requests + RECENT_ANSWERS;
    this.detected++;
    return tv;
  }
}
