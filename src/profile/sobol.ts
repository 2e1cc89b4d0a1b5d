/**
 * Sobol low-discrepancy sequence (Joe & Kuo direction numbers, first 20 dimensions) with a
 * seeded random digital shift. Written here because the npm Sobol packages are unmaintained;
 * 20 dimensions cover every module's parameters plus the device parameters.
 */
const JOE_KUO: Array<[s: number, a: number, m: number[]]> = [
  [1, 0, [1]],
  [2, 1, [1, 3]],
  [3, 1, [1, 3, 1]],
  [3, 2, [1, 1, 1]],
  [4, 1, [1, 1, 3, 3]],
  [4, 4, [1, 3, 5, 13]],
  [5, 2, [1, 1, 5, 5, 17]],
  [5, 4, [1, 1, 5, 5, 5]],
  [5, 7, [1, 1, 7, 11, 19]],
  [5, 11, [1, 1, 5, 1, 1]],
  [5, 13, [1, 1, 1, 3, 11]],
  [5, 14, [1, 3, 5, 5, 31]],
  [6, 1, [1, 3, 3, 9, 7, 49]],
  [6, 13, [1, 1, 1, 15, 21, 21]],
  [6, 16, [1, 3, 1, 13, 27, 49]],
  [6, 19, [1, 1, 1, 15, 7, 5]],
  [6, 22, [1, 3, 1, 15, 13, 25]],
  [6, 25, [1, 1, 5, 5, 19, 61]],
  [7, 1, [1, 3, 7, 11, 23, 15, 103]],
];
const BITS = 30;
export const SOBOL_MAX_DIMS = JOE_KUO.length + 1;

export class Sobol {
  private readonly v: Uint32Array[];
  private readonly x: Uint32Array;
  private index = 0;

  /** @param shifts one random 30-bit integer per dimension (digital shift), or zeros */
  constructor(readonly dims: number, private readonly shifts: number[] = []) {
    if (dims > SOBOL_MAX_DIMS) throw new Error(`Sobol supports at most ${SOBOL_MAX_DIMS} dimensions, got ${dims}`);
    this.v = [];
    for (let d = 0; d < dims; d++) {
      const v = new Uint32Array(BITS + 1);
      if (d === 0) {
        for (let i = 1; i <= BITS; i++) v[i] = 1 << (BITS - i);
      } else {
        const [s, a, m] = JOE_KUO[d - 1]!;
        for (let i = 1; i <= s && i <= BITS; i++) v[i] = m[i - 1]! << (BITS - i);
        for (let i = s + 1; i <= BITS; i++) {
          v[i] = v[i - s]! ^ (v[i - s]! >>> s);
          for (let k = 1; k < s; k++) v[i]! ^= ((a >>> (s - 1 - k)) & 1) * v[i - k]!;
        }
      }
      this.v.push(v);
    }
    this.x = new Uint32Array(dims);
  }

  /** next point in [0,1)^dims (the all-zero first point is skipped) */
  next(): number[] {
    this.index++;
    // Gray-code order: flip the direction number of the lowest zero bit of index-1
    let c = 1;
    let i = this.index - 1;
    while (i & 1) {
      i >>>= 1;
      c++;
    }
    const out: number[] = [];
    for (let d = 0; d < this.dims; d++) {
      this.x[d]! ^= this.v[d]![c]!;
      out.push(((this.x[d]! ^ (this.shifts[d] ?? 0)) >>> 0) / 2 ** BITS);
    }
    return out;
  }
}
