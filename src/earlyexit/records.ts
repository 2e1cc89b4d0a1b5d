import type { Rng } from '../util/random.js';
import { VectorArenas } from './slot-arena.js';

/** A request whose features and a teacher's answer are known: a training or calibration example. */
export interface AuditRecord {
  features: Float32Array[];
  teacher: Float32Array;
  teacherTop: number;
  request: number;
  /**
   * cuts whose heads may learn from this record: all (undefined) when the target is the backbone's,
   * only those before the answering cache when it is that cache's answer
   */
  teaches?: number;
  /**
   * the record's row in per-record typed tables (its heads' view: view-table.ts), given by
   * RecordPools while the record is held and reused after it leaves
   */
  row?: number;
}

/**
 * whether a training record may teach the head at cut i: it holds that cut's features (a request
 * that ran lean segments has only the enabled caches'), and an answer teaches only the caches
 * before the one that gave it
 */
export function teaches(r: AuditRecord, i: number): boolean {
  return r.features[i] !== undefined && (r.teaches === undefined || i < r.teaches);
}

/**
 * How much a record taught by a cache's answer counts towards the next training round. Most
 * requests are answered by a cache; counting each as a full new record retrained the heads every
 * ~300 requests, and under the server's training-duty cap that cost throughput.
 */
export const ANSWER_WEIGHT = 0.25;

export interface PoolOptions {
  trainWindow: number;
  calibrationWindow: number;
  /** share of audit records kept out of training, to calibrate thresholds on unseen data */
  calibrationShare: number;
  roundSize: number;
}

/**
 * The engine's memory of past requests, in four windows by where the teacher's answer came from.
 * Calibration records (a random share of audits) are never trained on. A record's vectors are
 * copied into slots (slot-arena.ts) when it is filed and handed back when it leaves the windows —
 * in trim() only, the one point where no training round or re-plan still reads the records it
 * drops (the engine trims when a round starts and when it re-plans, never while a round runs).
 */
export class RecordPools {
  /** pass-through requests (no cache answered: the hard ones) */
  backbone: AuditRecord[] = [];
  /** audited requests kept for training: a random sample, so the easy cases are not forgotten */
  audited: AuditRecord[] = [];
  /** requests a cache answered, teaching the caches before it (teachEarlier) */
  answered: AuditRecord[] = [];
  calibration: AuditRecord[] = [];
  /** new training records since the last round (answers count ANSWER_WEIGHT) */
  newTrain = 0;
  /** calibration records ever filed (a re-plan is worth its cost only when some are new) */
  calibrationFiled = 0;

  private readonly arenas = new VectorArenas();
  /** rows handed back by records that left the windows, reused before new ones */
  private readonly freeRows: number[] = [];
  private rowsGiven = 0;
  /** records dropped outside trim() (dropStale), whose slots trim() hands back */
  private retired: AuditRecord[] = [];

  constructor(private readonly o: PoolOptions, private readonly rng: Rng) {}

  /** the record's vectors copied into slots; the arrays it came with are the caller's again */
  private adopt(rec: AuditRecord): AuditRecord {
    const features: Float32Array[] = [];
    rec.features.forEach((f, i) => {
      features[i] = this.arenas.take(f);
    });
    rec.features = features;
    rec.teacher = this.arenas.take(rec.teacher);
    rec.row = this.freeRows.pop() ?? this.rowsGiven++;
    this.rowFiled?.(rec.row);
    return rec;
  }

  private release(recs: Iterable<AuditRecord>): void {
    for (const r of recs) {
      for (const f of r.features) if (f) this.arenas.release(f);
      this.arenas.release(r.teacher);
      if (r.row !== undefined) this.freeRows.push(r.row);
      r.row = undefined;
    }
  }

  /** rows handed out so far (the size a per-record table needs) */
  get rowCount(): number {
    return this.rowsGiven;
  }

  /** called with a row each time a record is filed under it (a table clears what the row's last record left there) */
  rowFiled?: (row: number) => void;

  /** slots holding records' vectors now, and the bytes allocated for them */
  get slotUsage(): { slots: number; bytes: number } {
    return { slots: this.arenas.inUse, bytes: this.arenas.bytes };
  }

  /** a finished audit: calibration or training, at random */
  fileAudit(rec: AuditRecord): void {
    this.adopt(rec);
    if (this.rng.next() < this.o.calibrationShare) {
      this.calibration.push(rec);
      this.calibrationFiled++;
    } else {
      this.audited.push(rec);
      this.newTrain++;
    }
  }

  /** a request no cache could answer: the backbone's answer teaches every cache (never calibrates: these are the hard ones, not a random sample) */
  addBackbone(rec: AuditRecord): void {
    this.backbone.push(this.adopt(rec));
    this.newTrain++;
  }

  addAnswered(rec: AuditRecord): void {
    this.answered.push(this.adopt(rec));
    this.newTrain += ANSWER_WEIGHT;
  }

  get trainingSize(): number {
    return this.backbone.length + this.audited.length + this.answered.length;
  }

  /** every record held, training and calibration, by id (its request number: one record per request) */
  live(): Map<number, AuditRecord> {
    const m = new Map<number, AuditRecord>();
    for (const pool of [this.backbone, this.audited, this.answered, this.calibration]) for (const r of pool) m.set(r.request, r);
    return m;
  }

  /** records that can teach the head at cut i */
  teachingCount(i: number): number {
    let n = 0;
    for (const pool of [this.backbone, this.audited, this.answered]) for (const r of pool) if (teaches(r, i)) n++;
    return n;
  }

  /** Drops records that left the windows (called only when training or re-planning is due, the only readers). */
  trim(): void {
    const o = this.o;
    const keep = (pool: AuditRecord[], n: number) => {
      const cut = Math.max(0, pool.length - Math.floor(n));
      this.release(pool.slice(0, cut));
      return pool.slice(cut);
    };
    this.backbone = keep(this.backbone, o.trainWindow);
    this.audited = keep(this.audited, o.trainWindow / 2);
    this.answered = keep(this.answered, o.trainWindow);
    this.calibration = keep(this.calibration, o.calibrationWindow);
    this.release(this.retired);
    this.retired = [];
  }

  /**
   * One training round's records: the newest half of a bounded round (what changed) plus a random
   * sample of older records (so nothing is forgotten). Bounded so that a round costs about the same
   * whether the windows hold 500 or 6,000 records.
   */
  roundSample(): { records: AuditRecord[]; pool: number } {
    const all = [...this.audited, ...this.backbone, ...this.answered].sort((x, y) => x.request - y.request);
    const half = Math.floor(this.o.roundSize / 2);
    const newest = all.slice(-half);
    const older = this.rng.shuffle(all.slice(0, Math.max(0, all.length - half))).slice(0, this.o.roundSize - newest.length);
    return { records: [...older, ...newest], pool: all.length };
  }

  /**
   * After a class-mix shift: calibration records from before `since` no longer describe the
   * traffic, and answers stale caches gave since then would teach the old mix. Returns how many
   * calibration records were dropped.
   */
  dropStale(since: number): number {
    const before = this.calibration.length;
    for (const r of this.calibration) if (r.request < since) this.retired.push(r);
    for (const r of this.answered) if (r.request >= since) this.retired.push(r);
    this.calibration = this.calibration.filter((r) => r.request >= since);
    this.answered = this.answered.filter((r) => r.request < since);
    return before - this.calibration.length;
  }
}
