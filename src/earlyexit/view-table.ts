import type { ViewColumns } from './cascade.js';

/**
 * Every head's view of the calibration records — its top class and that class's probability on
 * each record's features — kept in typed columns indexed by the record's row (RecordPools), valid
 * for one heads version. Only these two numbers choose thresholds and cascades (cascade.ts), and
 * they are recomputed for ~2,000 records after every training round. Kept as objects (a view per
 * record holding a probability vector per head), each round's replaced the last's in V8's old
 * generation: over a 6,000-request replay the bytes scavenges promoted fell from 5.9–7.5 to
 * 4.6–4.8 MB with the columns (reports/earlyexit-history.md, session 34).
 */
export class ViewTable {
  /** per row: the heads version its views were computed at (−1: none) */
  private version = new Int32Array(0);
  /** per head, per row: top class (−1: head untrained at that version) and its probability */
  private readonly cls: Int32Array[];
  private readonly conf: Float32Array[];

  constructor(private readonly heads: number) {
    this.cls = Array.from({ length: heads }, () => new Int32Array(0));
    this.conf = Array.from({ length: heads }, () => new Float32Array(0));
  }

  private ensure(rows: number): void {
    if (this.version.length >= rows) return;
    const n = Math.max(rows, this.version.length * 2, 1024);
    const grow = <T extends Int32Array | Float32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.version = grow(this.version, (k) => new Int32Array(k).fill(-1));
    for (let h = 0; h < this.heads; h++) {
      this.cls[h] = grow(this.cls[h]!, (k) => new Int32Array(k));
      this.conf[h] = grow(this.conf[h]!, (k) => new Float32Array(k));
    }
  }

  /** forgets a row's views (a new record took the row) */
  clear(row: number): void {
    if (row < this.version.length) this.version[row] = -1;
  }

  has(row: number, version: number): boolean {
    return row < this.version.length && this.version[row] === version;
  }

  /**
   * Stores a row's views at `version`: head h's probabilities are probs(h) from `offset(h)` on,
   * `classes(h)` long, or undefined when the head is untrained.
   */
  set(row: number, version: number, probs: (h: number) => { p: Float32Array; offset: number; classes: number } | undefined): void {
    this.ensure(row + 1);
    for (let h = 0; h < this.heads; h++) {
      const v = probs(h);
      if (!v) {
        this.cls[h]![row] = -1;
        continue;
      }
      let best = 0;
      for (let i = 1; i < v.classes; i++) if (v.p[v.offset + i]! > v.p[v.offset + best]!) best = i;
      this.cls[h]![row] = best;
      this.conf[h]![row] = v.p[v.offset + best]!;
    }
    this.version[row] = version;
  }

  /** the records' views as columns (every row must hold views at one version): a head whose view is missing for any record is left out */
  columns(records: ReadonlyArray<{ row?: number; teacherTop: number }>): ViewColumns {
    const n = records.length;
    const conf: ViewColumns['conf'] = [];
    const agree: ViewColumns['agree'] = [];
    for (let h = 0; h < this.heads; h++) {
      const cls = this.cls[h]!;
      const cf = this.conf[h]!;
      const c = new Float32Array(n);
      const a = new Uint8Array(n);
      let complete = true;
      for (let i = 0; i < n && complete; i++) {
        const row = records[i]!.row!;
        if (cls[row]! < 0) complete = false;
        c[i] = cf[row]!;
        a[i] = cls[row] === records[i]!.teacherTop ? 1 : 0;
      }
      if (complete) {
        conf[h] = c;
        agree[h] = a;
      }
    }
    return { length: n, conf, agree };
  }
}
