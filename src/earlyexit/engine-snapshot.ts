import type { Cascade } from './cascade.js';
import type { EngineOptions } from './engine-options.js';
import { describeEvent, type EngineStatistics } from './engine-stats.js';
import type { CacheHead } from './head.js';
import type { RecordPools } from './records.js';
import type { SegmentedModel } from './segments.js';
import type { ShiftDetector } from './shift.js';
import type { HeadTrainer } from './trainer.js';

/** what a CacheEngine's figures are read from */
export interface SnapshotSource {
  statistics: EngineStatistics;
  model: SegmentedModel;
  pools: RecordPools;
  cascade: Cascade;
  heads: readonly CacheHead[];
  opts: EngineOptions;
  shift: ShiftDetector;
  trainer: HeadTrainer;
}

/** The engine's figures at one moment, as `CacheEngine.stats()` and the server's `/v1/stats` give them. */
export function engineSnapshot(e: SnapshotSource) {
  const { statistics: s, model: m, pools: p, cascade, heads, opts, shift, trainer } = e;
  const requests = s.requests;
  return {
    requests,
    audited: s.audited,
    backboneAnswers: s.backboneAnswers,
    fusedAnswers: s.fusedAnswers,
    caches: m.cuts.map((c, i) => ({
      index: i,
      tensor: c.tensor,
      shape: c.shape,
      flopsFraction: c.flopsBefore / m.analysis.totalFlops,
      enabled: cascade.caches.includes(i),
      threshold: cascade.thresholds[cascade.caches.indexOf(i)] ?? null,
      /** below this confidence a request skips the later caches (cheaper no-exit path); null = never */
      skipBelow: cascade.skipBelow?.[cascade.caches.indexOf(i)] || null,
      trained: heads[i]!.trained,
      headBytes: heads[i]!.bytes,
      hidden: heads[i]!.hidden,
      exits: s.exitsPerCut[i]!,
      hitRate: requests ? s.exitsPerCut[i]! / requests : 0,
      trainingRecords: p.teachingCount(i),
    })),
    /** training records held now, by where their target came from */
    trainingRecords: { backbone: p.backbone.length, audited: p.audited.length, answered: p.answered.length },
    flopsPerRequest: requests ? s.flopsTotal / requests : 0,
    backboneFlops: m.analysis.totalFlops,
    flopsSaved: requests ? 1 - s.flopsTotal / requests / m.analysis.totalFlops : 0,
    latencyMs: s.latency(),
    /** time spent answering requests in this process (the model's share of a server's CPU) */
    requestMsTotal: s.requestMs,
    agreementEstimate: s.agreementEstimate(),
    calibrationRecords: p.calibration.length,
    targetAgreement: opts.targetAgreement,
    retrains: s.maintenance.retrains,
    replans: s.maintenance.replans,
    shiftsDetected: shift.detected,
    trainMsTotal: s.maintenance.trainMs,
    maintenance: { ...s.maintenance, trainer: trainer.kind, trainerPolicy: trainer.policy ?? null, trainerCpuSeconds: trainer.cpuSeconds(), trainerRssBytes: trainer.rssBytes() },
    events: s.events.slice(-20).map(describeEvent),
    eventLog: s.events.slice(-20),
  };
}

export type EngineSnapshot = ReturnType<typeof engineSnapshot>;
