import type { Tensor } from 'onnxruntime-common';
import { Rng } from '../util/random.js';
import { median, quantile } from '../util/stats.js';
import { chooseCascade, DEFAULT_Z, cascadeCeiling, NO_CACHE, type AuditView, type CalibrationMode, type Cascade, type CascadeCostModel } from './cascade.js';
import { argmax, CacheHead, hiddenForBudget, softmaxInPlace } from './head.js';
import type { CompiledHead } from './onnx-graph.js';
import { LiveCosts } from './live-costs.js';
import { segmentCost, type SegmentCosts, type SegmentedModel } from './segments.js';

export interface EngineOptions {
  /** false: serve the unmodified backbone (the baseline) */
  cache: boolean;
  /** false: never audit, train or re-plan (a fixed cascade, e.g. the offline baseline) */
  online: boolean;
  /** required agreement of answers with the backbone's */
  targetAgreement: number;
  /** 'overall': all answers together meet the target; 'per-exit': each cache's exits alone do */
  calibration: CalibrationMode;
  /** z of the Wilson bound in overall calibration (higher = more margin, fewer exits) */
  confidenceZ: number;
  /** audit every request until this many calibration records exist */
  minCalibration: number;
  /** share of requests audited afterwards (they run the full backbone and feed training + calibration) */
  auditRate: number;
  /** share of audit records kept out of training, to calibrate thresholds on unseen data */
  calibrationShare: number;
  trainWindow: number;
  calibrationWindow: number;
  /** retrain the heads after this many new training records */
  trainEvery: number;
  /**
   * also retrain after this many requests without one, while the pool is under-trained: fewer than
   * `maxPasses` training passes per pooled record so far. New training records slow to a trickle
   * once caches answer most requests; without this the heads stop learning long before converging.
   */
  idleTrainEvery: number;
  maxPasses: number;
  /** records per training round (newest half + a random sample of the rest) */
  roundSize: number;
  epochs: number;
  batchSize: number;
  /** re-plan the enabled caches every this many requests */
  manageEvery: number;
  maxActive: number;
  /** memory budget for enabled cache heads, bytes */
  memoryBudgetBytes: number;
  hidden: number;
  /**
   * run each enabled cache head inside its ONNX segment (true) rather than in JS on the pooled
   * features the segment outputs (false; kept to measure the difference)
   */
  compiledHeads: boolean;
  /**
   * a request a cache answered teaches the caches before it (whose features it passed), with that
   * cache's probabilities as the target: calibrated to agree with the backbone, they are nearly as
   * good a teacher, and they cover the requests earlier caches were unsure of, which otherwise
   * never reach the backbone
   */
  teachEarlier: boolean;
  /** what the manager minimises: measured latency or FLOPs */
  objective: 'latency' | 'flops';
  /** total-variation distance between recent answers' class mix and the calibration data's that counts as a shift */
  shiftThreshold: number;
  /** requests audited in full after a shift is detected */
  shiftAuditRequests: number;
  /** requests per entry of the exit-rate timeline */
  timelineEvery: number;
  seed: number;
}

export const DEFAULT_ENGINE: EngineOptions = {
  cache: true,
  online: true,
  targetAgreement: 0.995,
  calibration: 'overall',
  confidenceZ: DEFAULT_Z,
  minCalibration: 800,
  auditRate: 0.03,
  calibrationShare: 0.6,
  trainWindow: 4000,
  calibrationWindow: 2000,
  trainEvery: 250,
  idleTrainEvery: 250,
  maxPasses: 24,
  roundSize: 2500,
  epochs: 4,
  batchSize: 64,
  manageEvery: 250,
  // two caches, not three: every extra split costs the requests that pass it ~0.05–0.1 ms in situ;
  // measured on the 10k Fashion-MNIST stream, second half, seeds 2/3: mean latency −31 % with 2 vs
  // −26/−29 % with 3, agreement ≥ 99.56 % both
  maxActive: 2,
  memoryBudgetBytes: 512 * 1024,
  hidden: 96,
  compiledHeads: true,
  teachEarlier: true,
  objective: 'latency',
  shiftThreshold: 0.25,
  shiftAuditRequests: 300,
  timelineEvery: 500,
  seed: 1,
};

const RECENT_ANSWERS = 500;
/** requests between two checks of the answered class mix */
const SHIFT_CHECK_EVERY = 25;
/**
 * newest answers whose class mix is compared with the reference: a shift shows after ~¼ of this
 * many requests of a new mix (TV threshold 0.25). 200 against a reference of ≥ 500: sampling alone
 * gives TV ≤ 0.2 (simulated, 10 even classes, 20,000 draws), so no false alarms at 0.25.
 */
const SHIFT_WINDOW = 200;

/** the (from, to) segments a request may run under a cascade */
function segmentsOf(cascade: Cascade, cuts: number): Array<[number, number]> {
  const points = [-1, ...cascade.caches, cuts];
  return points.slice(1).map((b, k) => [points[k]!, b]);
}

interface AuditRecord {
  features: Float32Array[];
  teacher: Float32Array;
  teacherTop: number;
  request: number;
  /**
   * cuts whose heads may learn from this record: all (undefined) when the target is the backbone's,
   * only those before the answering cache when it is that cache's answer
   */
  teaches?: number;
  /** cached head predictions, valid for heads version `version` */
  view?: { version: number; probs: Array<Float32Array | undefined> };
}

export interface ClassifyResult {
  label: number;
  confidence: number;
  /** index of the cut whose cache answered, or null when the backbone did */
  exit: number | null;
  exitTensor: string | null;
  audited: boolean;
  flops: number;
  latencyMs: number;
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

export interface MaintenanceReport {
  trainedMs: number;
  managedMs: number;
  /** finishing audited requests that a cache answered: the rest of the backbone, after the answer */
  auditMs: number;
  changed: boolean;
}

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

/** whether a training record may teach the head at cut i (an answer teaches only the caches before the one that gave it) */
function teaches(r: AuditRecord, i: number): boolean {
  return r.teaches === undefined || i < r.teaches;
}

/**
 * How much a record taught by a cache's answer counts towards the next training round. Most
 * requests are answered by a cache; counting each as a full new record retrained the heads every
 * ~300 requests, and under the server's training-duty cap that cost throughput.
 */
const ANSWER_WEIGHT = 0.25;

/** audited requests waiting to be finished; beyond this the oldest are dropped (a busy server) */
const MAX_PENDING_AUDITS = 256;

/**
 * Online layer caching. Requests are answered by the first enabled cache whose confidence clears
 * its threshold, otherwise by the backbone. A random share of requests is *audited*: answered like
 * any other, but if a cache answered, the rest of the backbone still runs — after the answer, in
 * maintain() — so the backbone's own probabilities and every cut's pooled features are known. They
 * become calibration ground truth (unbiased: audits are a random sample) or training targets, and
 * the audited answers give a direct estimate of the live agreement. Requests that no cache answers
 * also become training targets (self-distillation). Labels never enter here.
 *
 * `classify` is the request path; `maintain` (training, re-planning) runs between requests.
 */
export class CacheEngine {
  readonly opts: EngineOptions;
  readonly heads: CacheHead[];
  private readonly rng: Rng;
  /** pass-through requests (no cache answered: the hard ones) */
  private trainRecords: AuditRecord[] = [];
  /** audited requests kept for training: a random sample, so the easy cases are not forgotten */
  private auditTrainRecords: AuditRecord[] = [];
  /** requests a cache answered, teaching the caches before it (teachEarlier) */
  private answeredRecords: AuditRecord[] = [];
  private calibRecords: AuditRecord[] = [];
  private newTrain = 0;
  private sinceTrain = 0;
  /** training passes (examples / pool size) accumulated since the pool last grew by a round's worth */
  private poolPasses = 0;
  private sinceManage = 0;
  private shiftAuditLeft = 0;
  private headMs: number[];
  /** segment and head costs measured on the request path (what the manager prices cascades with) */
  readonly live: LiveCosts;
  cascade: Cascade = NO_CACHE;
  /** ring buffer of the last RECENT_ANSWERS answered classes; once full, recentNext points at the oldest */
  private readonly recentAnswers: number[] = [];
  private recentNext = 0;
  private pendingAudits: PendingAudit[] = [];
  private shiftReference?: Float64Array;
  private lastShiftCheck = 0;
  /** request count before which no new reference mix is taken (the window still holds the old mix) */
  private referenceAfter = 0;
  /** bumped after every training round (invalidates cached head predictions) */
  private headsVersion = 0;

  // statistics
  requests = 0;
  audited = 0;
  flopsTotal = 0;
  readonly exitsPerCut: number[];
  backboneAnswers = 0;
  private readonly latencies: number[] = [];
  private auditAgree = 0;
  private auditJudged = 0;
  readonly timeline: TimelineEntry[] = [];
  trainMsTotal = 0;
  auditMsTotal = 0;
  manageMsTotal = 0;
  retrains = 0;
  replans = 0;
  shiftsDetected = 0;
  readonly events: string[] = [];

  constructor(readonly model: SegmentedModel, readonly costs: SegmentCosts, opts: Partial<EngineOptions> = {}) {
    this.opts = { ...DEFAULT_ENGINE, ...opts };
    this.rng = new Rng(this.opts.seed);
    const classes = model.classes;
    if (!classes) throw new Error('SegmentedModel.warm() must run before creating a CacheEngine');
    // each head sized to fit half the memory budget, so that at least two caches can be enabled
    this.heads = model.cuts.map((_, i) => new CacheHead(model.featureDims[i]!, classes, { hidden: hiddenForBudget(model.featureDims[i]!, classes, this.opts.memoryBudgetBytes, this.opts.hidden), learningRate: 2e-3, seed: this.opts.seed * 101 + i }));
    this.headMs = model.cuts.map(() => 0);
    this.live = new LiveCosts(costs);
    this.exitsPerCut = model.cuts.map(() => 0);
    // heads another engine compiled into this model are not ours
    if (this.opts.cache) model.clearHeads();
  }

  private teacherProbs(out: Float32Array): Float32Array {
    const p = Float32Array.from(out);
    return this.model.analysis.outputIsProbability ? p : softmaxInPlace(p);
  }

  private shouldAudit(): boolean {
    if (!this.opts.online) return false;
    if (this.shiftAuditLeft > 0) {
      this.shiftAuditLeft--;
      return true;
    }
    if (this.calibRecords.length < this.opts.minCalibration) return true;
    return this.rng.next() < this.opts.auditRate;
  }

  async classify(x: Float32Array): Promise<ClassifyResult> {
    const t0 = process.hrtime.bigint();
    const m = this.model;
    let r: Omit<ClassifyResult, 'latencyMs'>;
    if (!this.opts.cache) {
      const p = this.teacherProbs(await m.runFull(x));
      const label = argmax(p);
      r = { label, confidence: p[label]!, exit: null, exitTensor: null, audited: false, flops: m.analysis.totalFlops };
    } else {
      r = await this.cascadeRequest(m.inputTensor(x), this.shouldAudit());
    }
    const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    this.record(r, latencyMs);
    return { ...r, latencyMs };
  }

  /** files a finished audit: calibration or training (at random), and the live agreement estimate */
  private fileAudit(rec: AuditRecord, answer: number, judged: boolean): void {
    if (this.rng.next() < this.opts.calibrationShare) this.calibRecords.push(rec);
    else {
      this.auditTrainRecords.push(rec);
      this.newTrain++;
    }
    if (judged) {
      this.auditJudged++;
      if (answer === rec.teacherTop) this.auditAgree++;
    }
  }

  /** runs the rest of the backbone for audited requests a cache answered (off the request path) */
  private async finishAudits(): Promise<number> {
    if (!this.pendingAudits.length) return 0;
    const t = process.hrtime.bigint();
    const C = this.model.cuts.length;
    for (const a of this.pendingAudits.splice(0)) {
      const rest = await this.model.runSegment(a.from, C, a.tensor);
      for (const [i, f] of rest.pooled) a.features[i] = f;
      const teacher = this.teacherProbs(rest.output!);
      this.fileAudit({ features: a.features, teacher, teacherTop: argmax(teacher), request: a.request }, a.answer, a.judged);
    }
    return Number(process.hrtime.bigint() - t) / 1e6;
  }

  private async cascadeRequest(input: Tensor, audit: boolean): Promise<Omit<ClassifyResult, 'latencyMs'>> {
    const m = this.model;
    const C = m.cuts.length;
    // one plan for the whole request: a re-plan between two of its segments must not pair this
    // request's cache list with the next plan's thresholds
    const cascade = this.cascade;
    const judged = cascade.caches.length > 0;
    let prev = -1;
    let flops = 0;
    let cur = input;
    const features: Float32Array[] = [];
    const now = () => process.hrtime.bigint();
    const since = (t: bigint) => Number(now() - t) / 1e6;
    for (const [j, c] of cascade.caches.entries()) {
      let t = now();
      const seg = await m.runSegment(prev, c, cur);
      this.live.observeSegment(prev, c, since(t));
      for (const [i, f] of seg.pooled) features[i] = f;
      flops += m.flopsBetween(prev, c) + m.segmentPoolFlops(prev, c) + this.heads[c]!.flops;
      let p = seg.probs;
      if (!p) {
        t = now();
        p = this.heads[c]!.predict(seg.pooled.get(c)!);
        this.live.observeHead(c, since(t));
      }
      const label = argmax(p);
      if (p[label]! >= cascade.thresholds[j]!) {
        if (audit) {
          this.pendingAudits.push({ from: c, tensor: seg.next, features, request: this.requests, answer: label, judged });
          if (this.pendingAudits.length > MAX_PENDING_AUDITS) this.pendingAudits.shift();
          // the rest of the backbone runs after the answer: compute, though not latency
          flops += m.flopsBetween(c, C) + m.segmentPoolFlops(c, C);
        }
        else if (this.opts.online && this.opts.teachEarlier && c > 0) {
          this.answeredRecords.push({ features, teacher: Float32Array.from(p), teacherTop: label, request: this.requests, teaches: c });
          this.newTrain += ANSWER_WEIGHT;
        }
        return { label, confidence: p[label]!, exit: c, exitTensor: m.cuts[c]!.tensor, audited: audit, flops };
      }
      prev = c;
      cur = seg.next;
    }
    const t = now();
    const last = await m.runSegment(prev, m.cuts.length, cur);
    this.live.observeSegment(prev, m.cuts.length, since(t));
    for (const [i, f] of last.pooled) features[i] = f;
    flops += m.flopsBetween(prev, m.cuts.length) + m.segmentPoolFlops(prev, m.cuts.length);
    const p = this.teacherProbs(last.output!);
    const label = argmax(p);
    const rec: AuditRecord = { features, teacher: p, teacherTop: label, request: this.requests };
    if (audit) this.fileAudit(rec, label, judged);
    else if (this.opts.online) {
      // a request no cache could answer: the backbone's answer teaches every cache (never calibrates:
      // these requests are the hard ones, not a random sample)
      this.trainRecords.push(rec);
      this.newTrain++;
    }
    return { label, confidence: p[label]!, exit: null, exitTensor: null, audited: audit, flops };
  }

  private record(r: Omit<ClassifyResult, 'latencyMs'>, latencyMs: number): void {
    const bucket = Math.floor(this.requests / this.opts.timelineEvery);
    let e = this.timeline[bucket];
    if (!e) e = this.timeline[bucket] = { fromRequest: bucket * this.opts.timelineEvery, requests: 0, exits: this.model.cuts.map(() => 0), backbone: 0, audited: 0 };
    e.requests++;
    this.requests++;
    this.sinceManage++;
    this.sinceTrain++;
    this.flopsTotal += r.flops;
    this.latencies.push(latencyMs);
    if (this.latencies.length > 20000) this.latencies.splice(0, 10000);
    if (r.audited) this.audited++;
    if (r.exit !== null) {
      this.exitsPerCut[r.exit]!++;
      e.exits[r.exit]!++;
    } else {
      this.backboneAnswers++;
      // the timeline splits backbone answers into audits and requests no cache could answer
      if (r.audited) e.audited++;
      else e.backbone++;
    }
    if (this.recentAnswers.length < RECENT_ANSWERS) this.recentAnswers.push(r.label);
    else this.recentAnswers[this.recentNext] = r.label;
    this.recentNext = (this.recentNext + 1) % RECENT_ANSWERS;
  }

  /** every head's prediction on an audit record, cached until the heads are retrained */
  private view(r: AuditRecord): AuditView {
    if (r.view?.version !== this.headsVersion) {
      r.view = { version: this.headsVersion, probs: this.heads.map((h, i) => (h.trained ? h.predict(r.features[i]!) : undefined)) };
    }
    return { probs: r.view.probs, teacherTop: r.teacherTop };
  }

  /** views of many records, yielding to the event loop now and then (a server keeps answering) */
  private async views(recs: AuditRecord[]): Promise<AuditView[]> {
    const out: AuditView[] = [];
    for (const [i, r] of recs.entries()) {
      if (i % 100 === 99 && r.view?.version !== this.headsVersion) await new Promise((res) => setImmediate(res));
      out.push(this.view(r));
    }
    return out;
  }

  private flopsCostModel(): CascadeCostModel {
    const m = this.model;
    return { cuts: m.cuts.length, segment: (a, b) => m.flopsBetween(a, b) + m.segmentPoolFlops(a, b), head: (i) => this.heads[i]!.flops };
  }

  private latencyCostModel(): CascadeCostModel {
    // a compiled head's cost is part of its segment's measured time
    return { cuts: this.model.cuts.length, segment: (a, b) => this.live.segment(a, b), head: (i) => (this.model.hasHead(i) ? 0 : this.live.head(i, this.headMs[i]!)) };
  }

  /** Training and re-planning, off the request path. Cheap when nothing is due. */
  async maintain(): Promise<MaintenanceReport> {
    const rep: MaintenanceReport = { trainedMs: 0, managedMs: 0, auditMs: 0, changed: false };
    if (!this.opts.online || !this.opts.cache) return rep;
    const o = this.opts;
    rep.auditMs = await this.finishAudits();
    this.auditMsTotal += rep.auditMs;
    const firstRound = !this.heads.some((h) => h.trained);
    const pool = this.trainRecords.length + this.auditTrainRecords.length + this.answeredRecords.length;
    const underTrained = pool >= 2 * o.batchSize && this.sinceTrain >= o.idleTrainEvery && this.poolPasses < o.maxPasses;
    if ((firstRound && pool >= 2 * o.batchSize) || this.newTrain >= o.trainEvery || underTrained) {
      const t = process.hrtime.bigint();
      this.trimWindows();
      await this.trainHeads();
      rep.trainedMs = Number(process.hrtime.bigint() - t) / 1e6;
      this.trainMsTotal += rep.trainedMs;
    }
    // thresholds belong to the heads they were calibrated for: re-plan right after every retraining
    if ((rep.trainedMs > 0 || this.sinceManage >= o.manageEvery) && this.heads.some((h) => h.trained)) {
      const t = process.hrtime.bigint();
      this.trimWindows();
      rep.changed = await this.replan();
      rep.managedMs = Number(process.hrtime.bigint() - t) / 1e6;
      this.manageMsTotal += rep.managedMs;
    }
    // checked far more often than re-planning: until a shift is seen, caches calibrated on the old
    // mix answer the new one (checking only at re-plans, every 250 requests, let them answer up to
    // ~400 requests of a new mix; measured: 99.4 % agreement over the second half of the shifted stream)
    if (this.requests - this.lastShiftCheck >= SHIFT_CHECK_EVERY) {
      this.lastShiftCheck = this.requests;
      this.detectShift();
    }
    return rep;
  }

  /**
   * Drops records that left the windows. Called only when training or re-planning is due (the only
   * readers of the windows), not on every maintain() call, which follows every request.
   */
  private trimWindows(): void {
    const o = this.opts;
    this.trainRecords = this.trainRecords.slice(-o.trainWindow);
    this.auditTrainRecords = this.auditTrainRecords.slice(-o.trainWindow / 2);
    this.answeredRecords = this.answeredRecords.slice(-o.trainWindow);
    this.calibRecords = this.calibRecords.slice(-o.calibrationWindow);
  }

  /**
   * One training round: the newest half of a bounded round (what changed) plus a random sample of
   * older records (so nothing is forgotten), `epochs` passes. Bounded so that a round costs about
   * the same whether the windows hold 500 or 6,000 records.
   */
  private async trainHeads(): Promise<void> {
    const all = [...this.auditTrainRecords, ...this.trainRecords, ...this.answeredRecords].sort((x, y) => x.request - y.request);
    const half = Math.floor(this.opts.roundSize / 2);
    const newest = all.slice(-half);
    const older = this.rng.shuffle(all.slice(0, Math.max(0, all.length - half))).slice(0, this.opts.roundSize - newest.length);
    const recs = [...older, ...newest];
    // passes over the pool: reset-free running sum, diluted as new records join
    this.poolPasses = this.poolPasses * Math.max(0, 1 - this.newTrain / all.length) + (recs.length * this.opts.epochs) / all.length;
    for (const [i, h] of this.heads.entries()) {
      const mine = recs.filter((r) => teaches(r, i));
      if (!mine.length) continue;
      await h.fit(
        mine.map((r) => r.features[i]!),
        mine.map((r) => r.teacher),
        { epochs: this.opts.epochs, batchSize: this.opts.batchSize },
      );
      // head cost = measured JS prediction time (median of 50 calls on a real feature vector)
      const x = mine[0]!.features[i]!;
      const ts: number[] = [];
      for (let k = 0; k < 50; k++) {
        const t = process.hrtime.bigint();
        h.predict(x);
        ts.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      this.headMs[i] = median(ts);
    }
    this.newTrain = 0;
    this.sinceTrain = 0;
    this.headsVersion++;
    this.retrains++;
  }

  private async replan(): Promise<boolean> {
    this.sinceManage = 0;
    const views = await this.views(this.calibRecords);
    const trained = this.heads.map((h, i) => (h.trained ? i : -1)).filter((i) => i >= 0);
    const cost = this.opts.objective === 'latency' ? this.latencyCostModel() : this.flopsCostModel();
    const { cascade } = chooseCascade(views, trained, cost, {
      target: this.opts.targetAgreement,
      mode: this.opts.calibration,
      z: this.opts.confidenceZ,
      maxActive: this.opts.maxActive,
      budgetBytes: this.opts.memoryBudgetBytes,
      headBytes: (i) => this.heads[i]!.bytes,
    });
    this.replans++;
    // build the chosen segments' sessions (with the retrained heads compiled in) before a request
    // can need them; compiled heads and their thresholds then switch together (no await between)
    await this.syncCompiledHeads(segmentsOf(cascade, this.model.cuts.length));
    const before = JSON.stringify(this.cascade.caches);
    this.cascade = cascade;
    const changed = before !== JSON.stringify(cascade.caches);
    if (changed) this.events.push(`request ${this.requests}: caches ${before} → ${JSON.stringify(cascade.caches)}`);
    return changed;
  }

  /** heads version last compiled into the model's segments */
  private compiledVersion = -1;

  private async syncCompiledHeads(pairs: Array<[number, number]>): Promise<void> {
    if (!this.opts.compiledHeads || this.compiledVersion === this.headsVersion) return this.model.prepare(pairs);
    const changes = this.heads.map((h, i): [number, CompiledHead | null] => [i, h.trained ? h.compiled() : null]);
    await this.model.updateHeads(changes, pairs);
    this.compiledVersion = this.headsVersion;
  }

  /** the k newest answered classes (the ring buffer holds RECENT_ANSWERS) */
  private newestAnswers(k: number): number[] {
    const r = this.recentAnswers;
    if (r.length < RECENT_ANSWERS) return r.slice(-k);
    return Array.from({ length: k }, (_, j) => r[(this.recentNext - k + j + RECENT_ANSWERS) % RECENT_ANSWERS]!);
  }

  /** Class mix of recent answers vs a reference mix; a large change triggers a burst of audits. */
  private detectShift(): void {
    if (this.recentAnswers.length < SHIFT_WINDOW || this.calibRecords.length < this.opts.minCalibration || this.shiftAuditLeft > 0) return;
    const C = this.model.classes;
    const hist = (xs: number[]) => {
      const h = new Float64Array(C);
      for (const x of xs) h[x]! += 1 / xs.length;
      return h;
    };
    // after a shift, wait until the recent answers all come from after it: a window straddling the
    // shift is neither mix (taking it as the new reference reported one shift twice, measured)
    if (this.requests < this.referenceAfter) return;
    // reference: the calibration data's mix at first, then the mix once past the last shift
    if (!this.shiftReference && this.shiftsDetected) {
      this.shiftReference = hist(this.recentAnswers);
      return;
    }
    const a = hist(this.newestAnswers(SHIFT_WINDOW));
    this.shiftReference ??= hist(this.calibRecords.map((r) => r.teacherTop));
    const b = this.shiftReference;
    let tv = 0;
    for (let i = 0; i < C; i++) tv += Math.abs(a[i]! - b[i]!) / 2;
    if (tv > this.opts.shiftThreshold) {
      this.shiftReference = undefined;
      this.referenceAfter = this.requests + RECENT_ANSWERS;
      this.shiftsDetected++;
      // thresholds calibrated on the old mix do not hold for the new one (measured: agreement fell
      // to 99.2 % after a class shift): keep only the calibration records of the recent requests,
      // so caches stay off until enough new ones exist, and audit in full meanwhile
      const since = this.requests - SHIFT_WINDOW;
      const before = this.calibRecords.length;
      this.calibRecords = this.calibRecords.filter((r) => r.request >= since);
      // answers the stale caches gave in that window would teach the earlier caches the old mix
      this.answeredRecords = this.answeredRecords.filter((r) => r.request < since);
      if (this.calibRecords.length < this.opts.minCalibration) this.cascade = NO_CACHE;
      this.shiftAuditLeft = this.opts.shiftAuditRequests;
      this.events.push(`request ${this.requests}: class-mix shift detected (TV distance ${tv.toFixed(2)}); dropped ${before - this.calibRecords.length} stale calibration records, auditing until ${this.opts.minCalibration} new ones exist`);
    }
  }

  /**
   * What the current heads could save at best: on the calibration records (audited requests, a
   * random sample the heads never trained on), the cascade and thresholds chosen on those same
   * records with no statistical margin and no audits (see cascadeCeiling), priced with the segment
   * costs measured on the request path ('live') or the tight-loop start-up profile ('profile').
   * `meanCost` is in ms under those prices; `fullCost` is the unsplit backbone's under the profile
   * (for live prices, compare with the backbone's latency measured beside the engine instead).
   */
  async ceiling(o: { maxActive?: number; prices?: 'live' | 'profile' } = {}) {
    const C = this.model.cuts.length;
    const views = await this.views(this.calibRecords);
    const trained = this.heads.map((h, i) => (h.trained ? i : -1)).filter((i) => i >= 0);
    const cost: CascadeCostModel = o.prices === 'profile' ? { cuts: C, segment: (a, b) => segmentCost(this.costs, a, b), head: () => 0 } : this.latencyCostModel();
    const best = cascadeCeiling(views, trained, cost, { target: this.opts.targetAgreement, maxActive: o.maxActive ?? this.opts.maxActive });
    return { ...best.cascade, ...best.estimate, records: views.length, fullCost: this.costs.full };
  }

  /** Installs pre-trained heads and a fixed cascade (the offline baseline; use with online: false). */
  async install(heads: CacheHead[], cascade: Cascade): Promise<void> {
    if (heads.length !== this.heads.length) throw new Error(`expected ${this.heads.length} heads, got ${heads.length}`);
    heads.forEach((h, i) => {
      this.heads[i]!.dispose();
      this.heads[i] = h;
    });
    this.headsVersion++;
    await this.syncCompiledHeads(segmentsOf(cascade, this.model.cuts.length));
    this.cascade = cascade;
  }

  stats() {
    const lat = this.latencies;
    const pool = [...this.trainRecords, ...this.auditTrainRecords, ...this.answeredRecords];
    const m = this.model;
    return {
      requests: this.requests,
      audited: this.audited,
      backboneAnswers: this.backboneAnswers,
      caches: m.cuts.map((c, i) => ({
        index: i,
        tensor: c.tensor,
        shape: c.shape,
        flopsFraction: c.flopsBefore / m.analysis.totalFlops,
        enabled: this.cascade.caches.includes(i),
        threshold: this.cascade.thresholds[this.cascade.caches.indexOf(i)] ?? null,
        trained: this.heads[i]!.trained,
        headBytes: this.heads[i]!.bytes,
        exits: this.exitsPerCut[i]!,
        hitRate: this.requests ? this.exitsPerCut[i]! / this.requests : 0,
        trainingRecords: pool.filter((r) => teaches(r, i)).length,
      })),
      /** training records held now, by where their target came from */
      trainingRecords: { backbone: this.trainRecords.length, audited: this.auditTrainRecords.length, answered: this.answeredRecords.length },
      flopsPerRequest: this.requests ? this.flopsTotal / this.requests : 0,
      backboneFlops: m.analysis.totalFlops,
      flopsSaved: this.requests ? 1 - this.flopsTotal / this.requests / m.analysis.totalFlops : 0,
      latencyMs: lat.length ? { p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99), n: lat.length } : null,
      agreementEstimate: this.auditJudged ? { value: this.auditAgree / this.auditJudged, auditedRequests: this.auditJudged } : null,
      calibrationRecords: this.calibRecords.length,
      targetAgreement: this.opts.targetAgreement,
      retrains: this.retrains,
      replans: this.replans,
      shiftsDetected: this.shiftsDetected,
      trainMsTotal: this.trainMsTotal,
      events: this.events.slice(-20),
    };
  }

  dispose(): void {
    for (const h of this.heads) h.dispose();
  }
}
