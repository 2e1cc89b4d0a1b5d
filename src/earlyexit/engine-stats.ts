import { quantile } from '../util/stats.js';

export interface ClassifyResult {
  label: number;
  confidence: number;
  /** index of the cut whose cache answered, or null when the backbone did */
  exit: number | null;
  exitTensor: string | null;
  audited: boolean;
  flops: number;
  latencyMs: number;
  /** answered in one run of the fused cascade session (false: one session run per segment) */
  fused?: boolean;
}

export interface TimelineEntry {
  fromRequest: number;
  requests: number;
  /** answered by the cache at each cut */
  exits: number[];
  /** answered by the backbone: requests no cache could answer, and audits no cache answered */
  backbone: number;
  audited: number;
}

/** why a training round ran: the first, enough new training records, or idle while the pool is under-trained */
export type RoundTrigger = 'first' | 'new-records' | 'idle';

const ROUND_WHY: Record<RoundTrigger, string> = { first: 'first', 'new-records': 'new training records', idle: 'idle: the pool is under-trained' };

/** What the engine decided and when: structured, for tests, `/v1/stats` and reports. */
export type EngineEvent =
  | { kind: 'cascade'; request: number; from: number[]; to: number[] }
  | { kind: 'shift'; request: number; tv: number; dropped: number; minCalibration: number }
  | { kind: 'trainer-error'; request: number; message: string }
  /** a training round started, and why */
  | { kind: 'round'; request: number; trigger: RoundTrigger; records: number; pool: number; passes: number };

export function describeEvent(e: EngineEvent): string {
  switch (e.kind) {
    case 'cascade':
      return `request ${e.request}: caches ${JSON.stringify(e.from)} → ${JSON.stringify(e.to)}`;
    case 'shift':
      return `request ${e.request}: class-mix shift detected (TV distance ${e.tv.toFixed(2)}); dropped ${e.dropped} stale calibration records, auditing until ${e.minCalibration} new ones exist`;
    case 'trainer-error':
      return `request ${e.request}: training round failed (${e.message}); the current heads stay`;
    case 'round':
      return `request ${e.request}: training round (${ROUND_WHY[e.trigger]}) on ${e.records} of ${e.pool} pooled records; ${e.passes.toFixed(1)} passes over the pool after it`;
  }
}

/** Where the work went, beside the request path. */
export interface MaintenanceTotals {
  /** wall time of training rounds (in a trainer process: the time until its answer came back) */
  trainMs: number;
  /** re-planning on the serving thread: views of new records, cascade choice, session rebuilds */
  manageMs: number;
  /** finishing audited requests a cache answered (the rest of the backbone, after the answer) */
  auditMs: number;
  /** FLOPs of training (forward + backward per example and epoch) and of the calibration views */
  trainFlops: number;
  viewFlops: number;
  retrains: number;
  replans: number;
}

export const EVENTS_KEPT = 1000;

/** Counters of the request path: answers per exit, latencies, audits, the exit-rate timeline. */
export class EngineStatistics {
  requests = 0;
  /** time spent answering requests (the sum of their latencies) */
  requestMs = 0;
  audited = 0;
  flopsTotal = 0;
  readonly exitsPerCut: number[];
  backboneAnswers = 0;
  /** answers given by the fused cascade session */
  fusedAnswers = 0;
  private readonly latencies: number[] = [];
  private auditAgree = 0;
  private auditJudged = 0;
  readonly timeline: TimelineEntry[] = [];
  readonly events: EngineEvent[] = [];
  readonly maintenance: MaintenanceTotals = { trainMs: 0, manageMs: 0, auditMs: 0, trainFlops: 0, viewFlops: 0, retrains: 0, replans: 0 };

  constructor(private readonly cuts: number, private readonly timelineEvery: number) {
    this.exitsPerCut = Array(cuts).fill(0);
  }

  record(r: Omit<ClassifyResult, 'latencyMs'>, latencyMs: number): void {
    const bucket = Math.floor(this.requests / this.timelineEvery);
    let e = this.timeline[bucket];
    if (!e) e = this.timeline[bucket] = { fromRequest: bucket * this.timelineEvery, requests: 0, exits: Array(this.cuts).fill(0), backbone: 0, audited: 0 };
    e.requests++;
    this.requests++;
    this.requestMs += latencyMs;
    this.flopsTotal += r.flops;
    this.latencies.push(latencyMs);
    if (this.latencies.length > 20000) this.latencies.splice(0, 10000);
    if (r.audited) this.audited++;
    if (r.fused) this.fusedAnswers++;
    if (r.exit !== null) {
      this.exitsPerCut[r.exit]!++;
      e.exits[r.exit]!++;
    } else {
      this.backboneAnswers++;
      // the timeline splits backbone answers into audits and requests no cache could answer
      if (r.audited) e.audited++;
      else e.backbone++;
    }
  }

  /** an audited answer given while a cache was enabled: the live agreement estimate */
  judge(agreed: boolean): void {
    this.auditJudged++;
    if (agreed) this.auditAgree++;
  }

  /** a server runs for weeks: past 2 × EVENTS_KEPT events, only the newest EVENTS_KEPT are kept */
  event(e: EngineEvent): void {
    this.events.push(e);
    if (this.events.length > 2 * EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
  }

  latency() {
    const lat = this.latencies;
    return lat.length ? { p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99), n: lat.length } : null;
  }

  agreementEstimate() {
    return this.auditJudged ? { value: this.auditAgree / this.auditJudged, auditedRequests: this.auditJudged } : null;
  }
}
