import type { Tensor } from 'onnxruntime-common';
import type { Rng } from '../util/random.js';
import { skipStages, type Cascade } from './cascade.js';
import type { EngineOptions } from './engine-options.js';
import type { ClassifyResult, EngineStatistics } from './engine-stats.js';
import { argmax, softmaxInPlace, type CacheHead } from './head.js';
import type { LiveCosts } from './live-costs.js';
import type { AuditRecord, RecordPools } from './records.js';
import type { SegmentedModel } from './segments.js';

/** an audited request a cache answered: the rest of the backbone runs after the answer, in maintain() */
interface PendingAudit {
  /** the cut it exited at, and the tensor there */
  from: number;
  tensor: Tensor;
  /** pooled features of the cuts passed before the exit */
  features: Float32Array[];
  request: number;
  answer: number;
  /** a cache was enabled when it was answered (it counts towards the agreement estimate) */
  judged: boolean;
}

/** audited requests waiting to be finished; beyond this the oldest are dropped (a busy server) */
const MAX_PENDING_AUDITS = 256;

/** what the request path shares with the engine that owns it */
export interface RequestContext {
  model: SegmentedModel;
  /** the engine's heads (the array itself: installing heads replaces its entries) */
  heads: readonly CacheHead[];
  pools: RecordPools;
  live: LiveCosts;
  statistics: EngineStatistics;
  opts: EngineOptions;
  rng: Rng;
}

/**
 * The request path of a CacheEngine: one request through the enabled caches (segment by segment,
 * or the fused cascade), the records it leaves for training and calibration, and the audited
 * requests whose rest of the backbone runs later (finishAudits, between requests).
 */
export class RequestPath {
  private pending: PendingAudit[] = [];

  constructor(private readonly c: RequestContext) {}

  /** most requests run lean segments (EngineOptions.recordShare) */
  get leanSegments(): boolean {
    return this.c.opts.recordShare < 1;
  }

  /** the backbone output as probabilities (softmax unless the model ends in one) */
  teacherProbs(out: Float32Array): Float32Array {
    const p = Float32Array.from(out);
    return this.c.model.analysis.outputIsProbability ? p : softmaxInPlace(p);
  }

  /** files a finished audit, and counts its answer towards the live agreement estimate */
  fileAudit(rec: AuditRecord, answer: number, judged: boolean): void {
    this.c.pools.fileAudit(rec);
    if (judged) this.c.statistics.judge(answer === rec.teacherTop);
  }

  /** audited requests whose rest of the backbone has not run yet */
  get auditsPending(): number {
    return this.pending.length;
  }

  /**
   * Runs the rest of the backbone for audited requests a cache answered (off the request path),
   * oldest first, until `sliceMs` has been spent (at least one; all by default). onnxruntime-node
   * runs a session synchronously on the JS thread, so a server finishes them in slices: all at
   * once, a backlog of ~20 audits held the next request for 10–25 ms.
   */
  async finishAudits(sliceMs = Infinity): Promise<number> {
    if (!this.pending.length) return 0;
    const t = process.hrtime.bigint();
    const spent = () => Number(process.hrtime.bigint() - t) / 1e6;
    const C = this.c.model.cuts.length;
    do {
      const a = this.pending.shift()!;
      const rest = await this.c.model.runSegment(a.from, C, a.tensor);
      for (const [i, f] of rest.pooled) a.features[i] = f;
      const teacher = this.teacherProbs(rest.output!);
      this.fileAudit({ features: a.features, teacher, teacherTop: argmax(teacher), request: a.request }, a.answer, a.judged);
    } while (this.pending.length && spent() < sliceMs);
    return spent();
  }

  /**
   * One request under `cascade`, the plan fixed for the whole request (a re-plan between two of
   * its segments must not pair this request's cache list with the next plan's thresholds).
   */
  async run(input: Tensor, audit: boolean, cascade: Cascade): Promise<Omit<ClassifyResult, 'latencyMs'>> {
    const m = this.c.model;
    const C = m.cuts.length;
    const request = this.c.statistics.requests;
    const judged = cascade.caches.length > 0;
    // lean segments for most requests (recordShare); their costs are what the manager prices
    const leanMode = this.leanSegments;
    const lean = leanMode && !audit && this.c.rng.next() >= this.c.opts.recordShare;
    const observe = lean === leanMode;
    if (!audit && judged && this.c.opts.fused && this.c.opts.compiledHeads) {
      const r = await m.runCascade(cascade.caches, skipStages(cascade), input, cascade.thresholds, cascade.skipBelow ?? []);
      if (r) return this.fusedAnswer(r, cascade, request);
    }
    let prev = -1;
    let flops = 0;
    let cur = input;
    const features: Float32Array[] = [];
    const now = () => process.hrtime.bigint();
    const since = (t: bigint) => Number(now() - t) / 1e6;
    for (const [j, c] of cascade.caches.entries()) {
      let t = now();
      const seg = await m.runSegment(prev, c, cur, lean);
      if (observe) this.c.live.observeSegment(prev, c, since(t));
      for (const [i, f] of seg.pooled) features[i] = f;
      flops += m.flopsBetween(prev, c) + m.segmentPoolFlops(prev, c, lean) + this.c.heads[c]!.flops;
      let p = seg.probs;
      if (!p) {
        t = now();
        p = this.c.heads[c]!.predict(seg.pooled.get(c)!);
        this.c.live.observeHead(c, since(t));
      }
      const label = argmax(p);
      if (p[label]! >= cascade.thresholds[j]!) {
        if (audit) {
          this.pending.push({ from: c, tensor: seg.next, features, request, answer: label, judged });
          if (this.pending.length > MAX_PENDING_AUDITS) this.pending.shift();
          // the rest of the backbone runs after the answer: compute, though not latency
          flops += m.flopsBetween(c, C) + m.segmentPoolFlops(c, C);
        } else if (this.c.opts.online && this.c.opts.teachEarlier && c > 0) {
          this.c.pools.addAnswered({ features, teacher: p, teacherTop: label, request, teaches: c });
        }
        return { label, confidence: p[label]!, exit: c, exitTensor: m.cuts[c]!.tensor, audited: audit, flops };
      }
      prev = c;
      cur = seg.next;
      // the cheaper no-exit path: unlikely to exit later, straight to the end
      if (j < cascade.caches.length - 1 && p[label]! < (cascade.skipBelow?.[j] ?? 0)) break;
    }
    const t = now();
    const last = await m.runSegment(prev, C, cur, lean);
    if (observe) this.c.live.observeSegment(prev, C, since(t));
    for (const [i, f] of last.pooled) features[i] = f;
    flops += m.flopsBetween(prev, C) + m.segmentPoolFlops(prev, C, lean);
    const p = this.teacherProbs(last.output!);
    const label = argmax(p);
    const rec: AuditRecord = { features, teacher: p, teacherTop: label, request };
    if (audit) this.fileAudit(rec, label, judged);
    else if (this.c.opts.online) this.c.pools.addBackbone(rec);
    return { label, confidence: p[label]!, exit: null, exitTensor: null, audited: audit, flops };
  }

  /** a request answered by the fused cascade: the same bookkeeping as the segmented path */
  private fusedAnswer(r: { out: Float32Array; exit: number; pooled: Float32Array[] }, cascade: Cascade, request: number): Omit<ClassifyResult, 'latencyMs'> {
    const m = this.c.model;
    const n = cascade.caches.length;
    const features: Float32Array[] = [];
    r.pooled.forEach((f, i) => {
      if (f.length) features[i] = f;
    });
    const headFlops = (stages: number) => cascade.caches.slice(0, stages).reduce((a, c) => a + this.c.heads[c]!.flops, 0);
    if (r.exit < n) {
      const c = cascade.caches[r.exit]!;
      const label = argmax(r.out);
      if (this.c.opts.online && this.c.opts.teachEarlier && c > 0) this.c.pools.addAnswered({ features, teacher: r.out, teacherTop: label, request, teaches: c });
      return { label, confidence: r.out[label]!, exit: c, exitTensor: m.cuts[c]!.tensor, audited: false, flops: m.flopsBetween(-1, c) + m.segmentPoolFlops(-1, c) + headFlops(r.exit + 1), fused: true };
    }
    const C = m.cuts.length;
    const p = this.teacherProbs(r.out);
    const label = argmax(p);
    if (this.c.opts.online) this.c.pools.addBackbone({ features, teacher: p, teacherTop: label, request });
    return { label, confidence: p[label]!, exit: null, exitTensor: null, audited: false, flops: m.flopsBetween(-1, C) + m.segmentPoolFlops(-1, C) + headFlops(r.exit === n ? n : r.exit - n), fused: true };
  }
}
