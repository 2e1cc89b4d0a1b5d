import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { median } from '../util/stats.js';
import { calibrationSizeFor, chooseCascade, cascadeCeiling, NO_CACHE, skipStages, type Cascade, type CascadeCostModel, type ViewColumns } from './cascade.js';
import { DEFAULT_ENGINE, type EngineOptions } from './engine-options.js';
import { EngineStatistics, type ClassifyResult, type RoundTrigger } from './engine-stats.js';
import { engineSnapshot, type EngineSnapshot } from './engine-snapshot.js';
import { argmax, CacheHead, hiddenForBudget } from './head.js';
import { headTrainFlops } from './head-model.js';
import { LiveCosts } from './live-costs.js';
import type { CompiledHead } from './onnx-graph.js';
import { RecordPools, teaches, type AuditRecord } from './records.js';
import { RequestPath } from './request-path.js';
import { segmentCost, type SegmentCosts, type SegmentedModel, type SegmentRef } from './segments.js';
import { ShiftDetector, SHIFT_WINDOW } from './shift.js';
import { createTrainer, type HeadJob, type HeadTrainer } from './trainer.js';
import { ViewTable } from './view-table.js';

export type { ClassifyResult, EngineEvent, RoundTrigger, TimelineEntry } from './engine-stats.js';
export { describeEvent } from './engine-stats.js';
export type { EngineSnapshot } from './engine-snapshot.js';

export { DEFAULT_ENGINE, type EngineOptions } from './engine-options.js';

/** the (from, to) segments a request may run under a cascade, skips to the end included; with `lean`, their lean variants too */
function segmentsOf(cascade: Cascade, cuts: number, lean: boolean): SegmentRef[] {
  const points = [-1, ...cascade.caches, cuts];
  const pairs: SegmentRef[] = points.slice(1).map((b, k) => [points[k]!, b]);
  skipStages(cascade).forEach((skips, j) => skips && pairs.push([cascade.caches[j]!, cuts]));
  return lean ? [...pairs, ...pairs.map(([a, b]): SegmentRef => [a, b, true])] : pairs;
}

export interface MaintenanceReport {
  trainedMs: number;
  managedMs: number;
  /** finishing audited requests that a cache answered: the rest of the backbone, after the answer */
  auditMs: number;
  changed: boolean;
  /** audits are still pending (maintain({ sliceMs }) stopped at its slice): call again soon */
  more: boolean;
}

/**
 * Online layer caching. Requests are answered by the first enabled cache whose confidence clears
 * its threshold, otherwise by the backbone. A random share of requests is *audited*: answered like
 * any other, but if a cache answered, the rest of the backbone still runs — after the answer, in
 * maintain() — so the backbone's own probabilities and every cut's pooled features are known. They
 * become calibration ground truth (unbiased: audits are a random sample) or training targets, and
 * the audited answers give a direct estimate of the live agreement. Requests that no cache answers
 * also become training targets (self-distillation). Labels never enter here.
 *
 * `classify` is the request path (one request's segments, exits and records: request-path.ts);
 * `maintain` (finishing audits, training rounds, re-planning, shift checks) runs between requests. Training runs in a trainer process (EngineOptions.training); new
 * heads reach the request path together with the thresholds calibrated for them.
 */
export class CacheEngine {
  readonly opts: EngineOptions;
  readonly heads: CacheHead[];
  private readonly rng: Rng;
  private readonly pools: RecordPools;
  /** the heads' views of the calibration records, by record row */
  private readonly viewTable: ViewTable;
  private readonly shift: ShiftDetector;
  private readonly trainer: HeadTrainer;
  readonly statistics: EngineStatistics;
  private sinceTrain = 0;
  /** training passes (examples / pool size) accumulated since the pool last grew by a round's worth */
  private poolPasses = 0;
  private sinceManage = 0;
  /** pools.calibrationFiled at the last plan */
  private calibrationAtPlan = 0;
  private shiftAuditLeft = 0;
  private readonly headMs: number[];
  /** segment and head costs measured on the request path (what the manager prices cascades with) */
  readonly live: LiveCosts;
  cascade: Cascade = NO_CACHE;
  private readonly path: RequestPath;
  /** bumped after every training round (invalidates cached head predictions) */
  private headsVersion = 0;
  /** heads version last compiled into the model's segments */
  private compiledVersion = -1;
  /** a training round running in the background (maintain({ background: true })) */
  private roundInFlight?: Promise<void>;
  /** re-plans run one at a time (a background round's and a periodic one must not interleave) */
  private replanTail: Promise<unknown> = Promise.resolve();

  /** calibration records audited in full before the caches may answer (EngineOptions.minCalibration resolved) */
  readonly minCalibration: number;
  /** calibration records needed now: minCalibration at start-up, shiftMinCalibration after a shift */
  private requiredCalibration: number;

  constructor(readonly model: SegmentedModel, readonly costs: SegmentCosts, opts: Partial<EngineOptions> = {}) {
    this.opts = { ...DEFAULT_ENGINE, ...opts };
    this.minCalibration = this.opts.minCalibration === 'auto' ? calibrationSizeFor(this.opts.targetAgreement, this.opts.confidenceZ, 1) : this.opts.minCalibration;
    // the pool keeps at most calibrationWindow records: a larger minimum is never reached, and every
    // request would be audited in full for ever (no FLOPs saved)
    if (this.opts.cache && this.opts.online && this.minCalibration > this.opts.calibrationWindow) {
      const what = this.opts.minCalibration === 'auto' ? `'auto' (${this.minCalibration} records at agreement ${this.opts.targetAgreement}, z ${this.opts.confidenceZ})` : String(this.minCalibration);
      throw new UserError(`minCalibration ${what} exceeds calibrationWindow (${this.opts.calibrationWindow}), the most calibration records kept: caches would never be enabled`, 'engine options');
    }
    this.requiredCalibration = this.minCalibration;
    this.rng = new Rng(this.opts.seed);
    const classes = model.classes;
    if (!classes) throw new Error('SegmentedModel.warm() must run before creating a CacheEngine');
    // each head sized to fit half the memory budget, so that at least two caches can be enabled
    this.heads = model.cuts.map((_, i) => new CacheHead(model.featureDims[i]!, classes, { hidden: hiddenForBudget(model.featureDims[i]!, classes, this.opts.memoryBudgetBytes, this.opts.hidden), learningRate: 2e-3, seed: this.opts.seed * 101 + i }));
    this.headMs = model.cuts.map(() => 0);
    this.live = new LiveCosts(costs);
    this.pools = new RecordPools(this.opts, this.rng);
    this.viewTable = new ViewTable(model.cuts.length);
    this.pools.rowFiled = (row) => this.viewTable.clear(row);
    this.shift = new ShiftDetector(classes, this.opts.shiftThreshold);
    this.statistics = new EngineStatistics(model.cuts.length, this.opts.timelineEvery);
    this.path = new RequestPath({ model, heads: this.heads, pools: this.pools, live: this.live, statistics: this.statistics, opts: this.opts, rng: this.rng });
    this.trainer = createTrainer(this.opts.training);
    // heads another engine compiled into this model are not ours
    if (this.opts.cache) model.clearHeads();
  }

  get requests(): number {
    return this.statistics.requests;
  }

  get timeline() {
    return this.statistics.timeline;
  }

  get events() {
    return this.statistics.events;
  }

  private shouldAudit(): boolean {
    if (!this.opts.online) return false;
    if (this.shiftAuditLeft > 0) {
      this.shiftAuditLeft--;
      return true;
    }
    if (this.pools.calibration.length < this.requiredCalibration) return true;
    return this.rng.next() < this.opts.auditRate;
  }

  async classify(x: Float32Array): Promise<ClassifyResult> {
    const t0 = process.hrtime.bigint();
    const m = this.model;
    let r: Omit<ClassifyResult, 'latencyMs'>;
    if (!this.opts.cache) {
      const p = this.path.teacherProbs(await m.runFull(x));
      const label = argmax(p);
      r = { label, confidence: p[label]!, exit: null, exitTensor: null, audited: false, flops: m.analysis.totalFlops };
    } else {
      r = await this.path.run(m.inputTensor(x), this.shouldAudit(), this.cascade);
    }
    const latencyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    this.statistics.record(r, latencyMs);
    this.shift.observe(r.label);
    this.sinceManage++;
    this.sinceTrain++;
    return { ...r, latencyMs };
  }

  /** every head's prediction on an audit record, kept until the heads are retrained */
  private view(r: AuditRecord): void {
    if (this.viewTable.has(r.row!, this.headsVersion)) return;
    this.viewTable.set(r.row!, this.headsVersion, (i) => {
      const h = this.heads[i]!;
      return h.trained ? { p: h.predict(r.features[i]!), offset: 0, classes: h.classes } : undefined;
    });
    this.statistics.maintenance.viewFlops += this.heads.reduce((a, h) => a + (h.trained ? h.flops : 0), 0);
  }

  /** views of many records, yielding to the event loop now and then (a server keeps answering) */
  private async views(recs: AuditRecord[]): Promise<ViewColumns> {
    for (const [i, r] of recs.entries()) {
      if (i % 100 === 99 && !this.viewTable.has(r.row!, this.headsVersion)) await new Promise((res) => setImmediate(res));
      this.view(r);
    }
    return this.viewTable.columns(recs);
  }

  private flopsCostModel(): CascadeCostModel {
    const m = this.model;
    return { cuts: m.cuts.length, segment: (a, b) => m.flopsBetween(a, b) + m.segmentPoolFlops(a, b), head: (i) => this.heads[i]!.flops };
  }

  private latencyCostModel(): CascadeCostModel {
    // a compiled head's cost is part of its segment's measured time
    return { cuts: this.model.cuts.length, segment: (a, b) => this.live.segment(a, b), head: (i) => (this.model.hasHead(i) ? 0 : this.live.head(i, this.headMs[i]!)) };
  }

  /**
   * Finishing audits, training, re-planning and the shift check, between requests. Cheap when
   * nothing is due. `background`: a due training round is started and not waited for (a server);
   * its heads and the plan calibrated for them go live together when it ends. Otherwise (replays,
   * tests) the round is waited for, so the sequence of decisions is reproducible. `sliceMs`
   * (a server): finish audits for about that long and return with `more` set while some are left,
   * so that no request waits behind a backlog of them; training and re-planning wait for none left.
   */
  async maintain(o: { background?: boolean; sliceMs?: number } = {}): Promise<MaintenanceReport> {
    const rep: MaintenanceReport = { trainedMs: 0, managedMs: 0, auditMs: 0, changed: false, more: false };
    if (!this.opts.online || !this.opts.cache) return rep;
    const opt = this.opts;
    const totals = this.statistics.maintenance;
    rep.auditMs = await this.path.finishAudits(o.sliceMs);
    totals.auditMs += rep.auditMs;
    // a slice that left audits pending ends here: the next request should not wait for more
    if (this.path.auditsPending) {
      rep.more = true;
      return rep;
    }
    const trigger = this.roundDue();
    if (trigger && !this.roundInFlight) {
      const round = this.trainRound(trigger).catch((e: Error) => this.statistics.event({ kind: 'trainer-error', request: this.requests, message: e.message }));
      if (o.background) {
        this.roundInFlight = round.finally(() => (this.roundInFlight = undefined));
      } else {
        const t = process.hrtime.bigint();
        await round;
        rep.trainedMs = Number(process.hrtime.bigint() - t) / 1e6;
      }
    }
    // thresholds belong to the heads they were calibrated for: a round re-plans when it ends; here
    // the periodic re-plan, over the calibration records that arrived since
    const fresh = this.pools.calibrationFiled - this.calibrationAtPlan;
    if (rep.trainedMs === 0 && this.sinceManage >= opt.manageEvery && fresh >= opt.replanMinNew && this.heads.some((h) => h.trained) && !this.roundInFlight) {
      const t = process.hrtime.bigint();
      rep.changed = await this.replan();
      rep.managedMs = Number(process.hrtime.bigint() - t) / 1e6;
      totals.manageMs += rep.managedMs;
    }
    this.checkShift();
    return rep;
  }

  /**
   * Why a training round is due now, if one is: the first (once the pool holds two batches), then
   * — within the training budget — `trainEvery` new training records, or an idle round while
   * the pool has had fewer than `maxPasses` passes.
   */
  private roundDue(): RoundTrigger | undefined {
    const opt = this.opts;
    const pool = this.pools.trainingSize;
    const enough = pool >= 2 * opt.batchSize;
    if (!this.heads.some((h) => h.trained)) return enough ? 'first' : undefined;
    if (!this.withinTrainingBudget()) return undefined;
    if (this.pools.newTrain >= opt.trainEvery) return 'new-records';
    return enough && this.sinceTrain >= opt.idleTrainEvery && this.poolPasses < opt.maxPasses ? 'idle' : undefined;
  }

  /** trainer CPU and request time when the budget started counting (after the warm-up rounds) */
  private budgetBase?: { trainerMs: number; requestMs: number };

  /**
   * Training's share of the request time since the warm-up rounds ended stays within trainBudget.
   * The warm-up rounds are not counted: learning the heads at all costs several times the request
   * time of a short stream, and counting it would stop training for good.
   */
  private withinTrainingBudget(): boolean {
    const o = this.opts;
    if (!Number.isFinite(o.trainBudget) || this.statistics.maintenance.retrains < o.budgetAfterRounds) return true;
    this.budgetBase ??= { trainerMs: this.trainer.cpuSeconds() * 1000, requestMs: this.statistics.requestMs };
    return this.trainer.cpuSeconds() * 1000 - this.budgetBase.trainerMs <= o.trainBudget * (this.statistics.requestMs - this.budgetBase.requestMs);
  }

  /** waits for a background training round, if one runs (tests, shutdown) */
  async settle(): Promise<void> {
    await this.roundInFlight;
  }

  /**
   * One training round: every head on the round's records (newest half + a random sample of the
   * rest), `epochs` passes, in the trainer; the trainer also predicts the calibration records with
   * the new weights (their views). Then the new heads and the plan calibrated for them go live.
   */
  private async trainRound(trigger: RoundTrigger): Promise<void> {
    const t0 = process.hrtime.bigint();
    const o = this.opts;
    const totals = this.statistics.maintenance;
    this.pools.trim();
    const newAtStart = this.pools.newTrain;
    const { records, pool } = this.pools.roundSample();
    // passes over the pool: reset-free running sum, diluted as new records join
    this.poolPasses = this.poolPasses * Math.max(0, 1 - newAtStart / pool) + (records.length * o.epochs) / pool;
    this.statistics.event({ kind: 'round', request: this.requests, trigger, records: records.length, pool, passes: this.poolPasses });
    const calib = [...this.pools.calibration];
    const calibIds = calib.map((r) => r.request);
    const jobs: HeadJob[] = [];
    for (const [i, h] of this.heads.entries()) {
      const train = records.filter((r) => teaches(r, i)).map((r) => r.request);
      if (!train.length) continue;
      jobs.push({ key: h.key, spec: h.spec, cut: i, train, eval: calibIds });
      totals.trainFlops += train.length * o.epochs * headTrainFlops(h.inDim, h.hidden, h.classes) + calib.length * h.flops;
    }
    this.sinceTrain = 0;
    const results = await this.trainer.train({ records: this.pools.live(), heads: jobs, options: { epochs: o.epochs, batchSize: o.batchSize } });
    // records that arrived during the round count towards the next one
    this.pools.newTrain = Math.max(0, this.pools.newTrain - newAtStart);
    this.headsVersion++;
    const probsAt: Array<Float32Array | undefined> = this.heads.map(() => undefined);
    for (const r of results) {
      const i = this.heads.findIndex((h) => h.key === r.key);
      const h = this.heads[i]!;
      h.install(r.snapshot);
      probsAt[i] = r.evalProbs;
      // a JS head's cost prices cascades only when heads are not compiled into the segments (then
      // a segment's measured time includes its head); timing it cost ~5 ms a head a round here
      if (!this.opts.compiledHeads) this.headMs[i] = this.timeHead(h, records.find((x) => teaches(x, i))!.features[i]!);
    }
    // the calibration records' views, computed by the trainer with these very weights
    for (const [n, r] of calib.entries()) {
      this.viewTable.set(r.row!, this.headsVersion, (i) => {
        const h = this.heads[i]!;
        const at = probsAt[i];
        return at ? { p: at, offset: n * h.classes, classes: h.classes } : h.trained ? { p: h.predict(r.features[i]!), offset: 0, classes: h.classes } : undefined;
      });
    }
    totals.retrains++;
    totals.trainMs += Number(process.hrtime.bigint() - t0) / 1e6;
    const t1 = process.hrtime.bigint();
    await this.replan();
    totals.manageMs += Number(process.hrtime.bigint() - t1) / 1e6;
  }

  /** head cost = measured JS prediction time (median of 50 calls on a real feature vector) */
  private timeHead(h: CacheHead, x: Float32Array): number {
    const ts: number[] = [];
    for (let k = 0; k < 50; k++) {
      const t = process.hrtime.bigint();
      h.predict(x);
      ts.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return median(ts);
  }

  private replan(): Promise<boolean> {
    const run = this.replanTail.then(() => this.replanNow());
    this.replanTail = run.catch(() => undefined);
    return run;
  }

  private async replanNow(): Promise<boolean> {
    this.sinceManage = 0;
    this.calibrationAtPlan = this.pools.calibrationFiled;
    this.pools.trim();
    const views = await this.views(this.pools.calibration);
    const trained = this.heads.map((h, i) => (h.trained ? i : -1)).filter((i) => i >= 0);
    const cost = this.opts.objective === 'latency' ? this.latencyCostModel() : this.flopsCostModel();
    const { cascade } = chooseCascade(views, trained, cost, {
      target: this.opts.targetAgreement,
      mode: this.opts.calibration,
      z: this.opts.confidenceZ,
      maxActive: this.opts.maxActive,
      budgetBytes: this.opts.memoryBudgetBytes,
      headBytes: (i) => this.heads[i]!.bytes,
      skips: this.opts.skips,
    });
    this.statistics.maintenance.replans++;
    // build the chosen segments' sessions (with the retrained heads compiled in) before a request
    // can need them; compiled heads and their thresholds then switch together (no await between)
    await this.syncCompiledHeads(segmentsOf(cascade, this.model.cuts.length, this.path.leanSegments), cascade);
    const before = this.cascade.caches;
    this.cascade = cascade;
    const changed = JSON.stringify(before) !== JSON.stringify(cascade.caches);
    if (changed) this.statistics.event({ kind: 'cascade', request: this.requests, from: before, to: cascade.caches });
    return changed;
  }

  /**
   * Builds the sessions a cascade's requests need (its segments and, with `fused`, its fused
   * session) with the current heads compiled in, before the cascade goes live; the new heads'
   * sessions switch in at once, so the caller can swap the thresholds in the same tick.
   */
  private async syncCompiledHeads(pairs: SegmentRef[], cascade: Cascade): Promise<void> {
    const fused = this.opts.fused && this.opts.compiledHeads && cascade.caches.length ? { caches: cascade.caches, skips: skipStages(cascade) } : undefined;
    if (!this.opts.compiledHeads || this.compiledVersion === this.headsVersion) {
      await this.model.prepare(pairs);
      if (fused) await this.model.prepareCascade(fused.caches, fused.skips);
      return;
    }
    const version = this.headsVersion;
    const changes = this.heads.map((h, i): [number, CompiledHead | null] => [i, h.trained ? h.compiled() : null]);
    await this.model.updateHeads(changes, pairs, fused);
    this.compiledVersion = version;
  }

  /** Class mix of recent answers vs a reference mix; a large change triggers a burst of audits. */
  private checkShift(): void {
    const armed = this.pools.calibration.length >= this.requiredCalibration && this.shiftAuditLeft === 0;
    const tv = this.shift.check(this.requests, () => this.pools.calibration.map((r) => r.teacherTop), armed);
    if (tv === null) return;
    // thresholds calibrated on the old mix do not hold for the new one (measured: agreement fell
    // to 99.2 % after a class shift): keep only the calibration records of the recent requests,
    // so caches stay off until enough new ones exist, and audit in full meanwhile
    const dropped = this.pools.dropStale(this.requests - SHIFT_WINDOW);
    this.requiredCalibration = Math.min(this.minCalibration, this.opts.shiftMinCalibration);
    if (this.pools.calibration.length < this.requiredCalibration) this.cascade = NO_CACHE;
    this.shiftAuditLeft = this.opts.shiftAuditRequests;
    this.statistics.event({ kind: 'shift', request: this.requests, tv, dropped, minCalibration: this.requiredCalibration });
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
    const views = await this.views(this.pools.calibration);
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
    await this.syncCompiledHeads(segmentsOf(cascade, this.model.cuts.length, this.path.leanSegments), cascade);
    this.cascade = cascade;
  }

  /** the engine's figures now: per cache, the record pools, latency, agreement, maintenance (`/v1/stats`) */
  stats(): EngineSnapshot {
    return engineSnapshot({ statistics: this.statistics, model: this.model, pools: this.pools, cascade: this.cascade, heads: this.heads, opts: this.opts, shift: this.shift, trainer: this.trainer });
  }

  /** releases the heads and stops the trainer (a process trainer ends) */
  async dispose(): Promise<void> {
    await this.roundInFlight;
    for (const h of this.heads) h.dispose();
    await this.trainer.close();
  }
}
