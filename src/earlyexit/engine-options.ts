import { DEFAULT_Z, type CalibrationMode } from './cascade.js';

/** Everything a CacheEngine can be told; DEFAULT_ENGINE holds the measured defaults. */
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
  /**
   * audit every request until this many calibration records exist (caches may answer meanwhile,
   * as soon as the bound allows; an audited answer runs the rest of the backbone after it). 800 is
   * the fewest on which the Wilson bound (99.5 %, z = 2) allows any exit at all, and there it allows
   * no disagreement: every threshold sits just above the single most confident wrong record, and
   * which caches win flips with it. 2000 (the calibration window; it allows 3) was chosen on two
   * validation streams of Fashion-MNIST *training* images, mean latency saved in the second half,
   * paired engine seeds: offset 20,000, seeds 4–7: 32.4 % vs 23.2 % at 800; offset 40,000, seeds
   * 12–19: 34.1 % vs 28.5 %, agreement ≥ 99.5 % in 7 of 8 runs (99.40 % in one) and 8 of 8 at 800.
   * Looser bounds (z = 1.645) saved more (37 %) but broke the 99.5 % target in 1–5 runs of 8
   * (reports/earlyexit-history.md, session 13). Repeat with `npm run bench:earlyexit-validate`
   * (2026-12-03 run: 34.0 vs 25.6 % at 800, 8 paired seeds, with the stale-price rule of
   * live-costs.ts; reports/earlyexit-history.md, session 13). Costs: the first ~3,300 requests are audited in full
   * (FLOPs, not latency). 'auto': the fewest on which the bound allows one disagreement (1,170).
   */
  minCalibration: number | 'auto';
  /**
   * calibration records needed again after a class-mix shift dropped the stale ones (at most
   * minCalibration): the heads are trained already, and re-certifying on 2,000 fresh records would
   * audit ~3,300 requests in full; from 800 the thresholds start strict and loosen as audits accumulate
   */
  shiftMinCalibration: number;
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
  /**
   * 12, not 24: two validation runs (`bench:earlyexit-validate`, offset 40,000, seeds 12–19, 16
   * paired runs, 2026-12-05): mean latency saved 32.1 vs 26.9 % and 29.1 vs 27.8 % (higher in 14
   * of 16 pairs), FLOPs saved equal (56.1 / 55.8 %), agreement ≥ 99.5 % in every run, training
   * rounds 14.5 vs 18.2 and trainer CPU 6.3–6.7 vs 7.8 s per 10,000 requests. A training round
   * slows the request path beside it on 2 cores; the rounds dropped were the idle ones late in
   * the stream. 6 broke the agreement target in 1 run of 8 (reports/earlyexit-validation.md).
   */
  maxPasses: number;
  /**
   * After `budgetAfterRounds` rounds, training may use at most this share of the time spent
   * answering requests (trainer CPU ÷ request-path time); a round that would exceed it waits.
   * Training is what online caching pays for its savings: unbounded, a 10k-request stream spent
   * twice the plain model's inference CPU on it (bench:earlyexit, "Total compute").
   */
  trainBudget: number;
  budgetAfterRounds: number;
  /** records per training round (newest half + a random sample of the rest) */
  roundSize: number;
  epochs: number;
  batchSize: number;
  /** re-plan the enabled caches every this many requests… */
  manageEvery: number;
  /**
   * …when at least this many calibration records arrived since the last plan. Choosing a cascade
   * costs ~40 ms on the serving thread (2,000 records, 15 cache sets); every 250 requests that was
   * ~0.15 ms a request, a third of a cached request, for plans that rarely changed.
   */
  replanMinNew: number;
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
   * answer requests (all but audited ones) with the whole cascade fused into one onnxruntime
   * session, exits as ONNX `If` nodes (cascade-graph.ts), instead of one session run per segment;
   * needs compiledHeads. Until the fused session of a new plan is built, the segmented path answers.
   * Off by default: measured no faster on the request path (bench:earlyexit, second half of the
   * Fashion-MNIST stream: mean saving 17.9 / 18.2 % fused vs 18.2 / 18.5 % segmented, two runs) while it
   * holds another copy of the backbone's weights; see reports/earlyexit-history.md.
   */
  fused: boolean;
  /**
   * a request a cache answered teaches the caches before it (whose features it passed), with that
   * cache's probabilities as the target: calibrated to agree with the backbone, they are nearly as
   * good a teacher, and they cover the requests earlier caches were unsure of, which otherwise
   * never reach the backbone
   */
  teachEarlier: boolean;
  /** tune the cheaper no-exit path: a request unlikely to exit later skips the later caches */
  skips: boolean;
  /**
   * share of requests (audited ones aside, which always do) whose segments output the pooled
   * features of every cut they pass, so that caches not enabled keep learning from them; the rest
   * run lean segments that output only the enabled caches' features (SegmentRef). 1: every request.
   */
  recordShare: number;
  /** what the manager minimises: measured latency or FLOPs */
  objective: 'latency' | 'flops';
  /** total-variation distance between recent answers' class mix and the calibration data's that counts as a shift */
  shiftThreshold: number;
  /** requests audited in full after a shift is detected */
  shiftAuditRequests: number;
  /** requests per entry of the exit-rate timeline */
  timelineEvery: number;
  /**
   * where the heads train: 'process' (a trainer child process with its own tfjs; the serving
   * thread never runs a minibatch) or 'thread' (this one, yielding between minibatches)
   */
  training: 'process' | 'thread';
  seed: number;
}

export const DEFAULT_ENGINE: EngineOptions = {
  cache: true,
  online: true,
  targetAgreement: 0.995,
  calibration: 'overall',
  confidenceZ: DEFAULT_Z,
  minCalibration: 2000,
  shiftMinCalibration: 800,
  auditRate: 0.03,
  calibrationShare: 0.6,
  trainWindow: 4000,
  calibrationWindow: 2000,
  trainEvery: 250,
  idleTrainEvery: 250,
  maxPasses: 12,
  trainBudget: Infinity,
  budgetAfterRounds: 8,
  roundSize: 2500,
  epochs: 4,
  batchSize: 64,
  manageEvery: 250,
  replanMinNew: 20,
  // two caches, not three: every extra split costs the requests that pass it ~0.05–0.1 ms in situ;
  // measured on the 10k Fashion-MNIST stream, second half, seeds 2/3: mean latency −31 % with 2 vs
  // −26/−29 % with 3, agreement ≥ 99.56 % both
  maxActive: 2,
  memoryBudgetBytes: 512 * 1024,
  hidden: 96,
  compiledHeads: true,
  fused: false,
  teachEarlier: true,
  skips: true,
  recordShare: 1,
  objective: 'latency',
  shiftThreshold: 0.25,
  shiftAuditRequests: 300,
  timelineEvery: 500,
  training: 'process',
  seed: 1,
};
