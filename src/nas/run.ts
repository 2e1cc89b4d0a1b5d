import type * as tfType from '@tensorflow/tfjs';
import { loadLatencyData, requireDevice, type LatencyData } from '../data/latency.js';
import { encode } from '../transfer/encoding.js';
import { DEFAULT_PREDICTOR, TransferPredictor, type PredictorConfig } from '../transfer/predictor.js';
import { checkK, selectSamples, type SampleSelector } from '../transfer/sampling.js';
import { getTask } from '../transfer/tasks.js';
import { UserError } from '../util/errors.js';
import { archString, bestUnderBudget, DEFAULT_EVOLUTION, DEFAULT_MEASUREMENT_COST, evolve, measurementMs, type MeasurementCost } from './evolution.js';

type TF = typeof tfType;

export interface NasRequest {
  device: string;
  budgetMs: number;
  samples: number;
  sampler: SampleSelector;
  seed: number;
  cost?: MeasurementCost;
}

interface ArchReport {
  id: number;
  arch: string;
  accuracy: number;
  trueMs: number;
}

export interface NasReport {
  found: ArchReport & { predictedMs: number };
  best: ArchReport;
  /** k samples for the transfer + verification measurements of the final candidates */
  measurements: number;
  /** of which: final candidates measured to verify the budget */
  verified: number;
  evaluated: number;
  /** measuring the k samples (cost model) + adaptation + search, seconds */
  oursS: number;
  /** the same search measuring every candidate it evaluates (cost model), seconds */
  measureAllS: number;
  speedup: number;
  pretrainS: number;
  costModel: string;
}

/** at most this many final candidates are measured to verify the budget */
const MAX_VERIFY = 10;

const pretrained = new Map<string, { predictor: TransferPredictor; ms: number }>();

/** Pretrained once per process and training-device set: pretraining is amortised over devices. */
export async function nb201Predictor(tf: TF, data: LatencyData, exclude: string, cfg: Partial<PredictorConfig> = {}, log?: (s: string) => void) {
  const train = getTask('nb201-help').train.filter((d) => d !== exclude);
  const config = { ...DEFAULT_PREDICTOR, ...cfg };
  const key = JSON.stringify([train, config]);
  if (!pretrained.has(key)) {
    log?.(`pretraining the NB201 predictor on ${train.join(', ')}…`);
    const t0 = performance.now();
    const predictor = await TransferPredictor.pretrain(tf, data, train, config);
    pretrained.set(key, { predictor, ms: performance.now() - t0 });
  }
  return { ...pretrained.get(key)!, train };
}

export async function runNas(tf: TF, req: NasRequest, log?: (s: string) => void): Promise<NasReport> {
  const data = loadLatencyData('nb201');
  const truth = requireDevice(data, req.device);
  const cost = req.cost ?? DEFAULT_MEASUREMENT_COST;
  checkK(req.samples, data);
  if (!(req.budgetMs > 0)) throw new UserError(`must be a positive number of milliseconds, got ${req.budgetMs}`, '--budget-ms');
  const { predictor, ms: pretrainMs, train } = await nb201Predictor(tf, data, req.device, {}, log);
  const t0 = performance.now();
  const samples = selectSamples(req.sampler, req.samples, data, train, encode(data, DEFAULT_PREDICTOR.encoding), req.seed);
  const adapted = await predictor.adapt(samples, samples.map((i) => truth[i]!));
  const predicted = adapted.predictAllMs();
  const result = evolve(data, (a) => predicted[a]!, { ...DEFAULT_EVOLUTION, budgetMs: req.budgetMs, seed: req.seed });
  const computeMs = performance.now() - t0;
  if (result.best < 0) throw new UserError(`no architecture is predicted to meet ${req.budgetMs} ms on ${req.device}; the fastest measures ${Math.min(...truth).toFixed(2)} ms`, '--budget-ms');
  // Verification: a prediction near the budget can be on the wrong side of it, so the most accurate
  // predicted-feasible candidates are measured on the device, best first, until one truly fits.
  const feasible = result.evaluated.filter((a) => predicted[a]! <= req.budgetMs).sort((a, b) => data.accuracy![b]! - data.accuracy![a]!);
  const verifiedArchs: number[] = [];
  let chosen = -1;
  for (const a of feasible.slice(0, MAX_VERIFY)) {
    verifiedArchs.push(a);
    if (truth[a]! <= req.budgetMs) {
      chosen = a;
      break;
    }
  }
  if (chosen < 0) chosen = verifiedArchs.reduce((p, q) => (truth[q]! < truth[p]! ? q : p));
  const best = bestUnderBudget(data, req.device, req.budgetMs);
  if (best < 0) throw new UserError(`no NB201 cell meets ${req.budgetMs} ms on ${req.device} (fastest: ${Math.min(...truth).toFixed(2)} ms)`, '--budget-ms');
  const report = (id: number): ArchReport => ({ id, arch: archString(data.ops[id]!), accuracy: data.accuracy![id]!, trueMs: truth[id]! });
  const measureSamplesMs = [...samples, ...verifiedArchs].reduce((s, a) => s + measurementMs(truth[a]!, cost), 0);
  const measureAllMs = result.evaluated.reduce((s, a) => s + measurementMs(truth[a]!, cost), 0);
  const oursMs = measureSamplesMs + computeMs;
  return {
    found: { ...report(chosen), predictedMs: predicted[chosen]! },
    best: report(best),
    measurements: samples.length + verifiedArchs.length,
    verified: verifiedArchs.length,
    evaluated: result.evaluated.length,
    oursS: oursMs / 1000,
    measureAllS: measureAllMs / 1000,
    speedup: measureAllMs / oursMs,
    pretrainS: pretrainMs / 1000,
    costModel: `a measurement = ${cost.warmup} warm-up + ${cost.repeats} timed runs at the real latency + ${cost.deployOverheadMs / 1000} s deployment; pretraining (${(pretrainMs / 1000).toFixed(0)} s, once per space) not counted`,
  };
}
