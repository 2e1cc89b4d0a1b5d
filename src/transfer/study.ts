import type * as tfType from '@tensorflow/tfjs';
import { loadLatencyData, requireDevice, type LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { encodeAsync } from './gae.js';
import { rankMetrics } from './metrics.js';
import { DEFAULT_PREDICTOR, TransferPredictor, type PredictorConfig } from './predictor.js';
import { checkK, selectSamples, type SampleSelector } from './sampling.js';
import type { TransferTask } from './tasks.js';

type TF = typeof tfType;

export interface TransferRun {
  task: string;
  device: string;
  k: number;
  seed: number;
  sampler: SampleSelector;
  spearman: number;
  kendall: number;
  /** the measured architectures (arch ids) — part of the result */
  samples: number[];
  adaptMs: number;
  predictMs: number;
  /** 'transfer', or what the leave-one-out guard chose ('proxy:<device>', 'flops', 'blend:<a>+<b>', …) */
  source: string;
}

export interface TransferStudy {
  config: PredictorConfig;
  pretrainMs: number;
  runs: TransferRun[];
}

export interface StudyOptions {
  ks: number[];
  seeds: number[];
  sampler: SampleSelector;
  /** test devices to run (default: all of the task) */
  devices?: string[];
  /** more sample selectors to compare on the same pretrained predictor, at these ks */
  alsoSamplers?: { samplers: SampleSelector[]; ks: number[] };
}

/** Pretrains once on the task's training devices, then adapts to every test device for each k and seed. */
export async function runTransferStudy(tf: TF, task: TransferTask, cfg: Partial<PredictorConfig>, opts: StudyOptions, log?: (s: string) => void): Promise<TransferStudy> {
  const data = loadLatencyData(task.space);
  const config = { ...DEFAULT_PREDICTOR, ...cfg };
  for (const d of [...task.train, ...task.test]) requireDevice(data, d);
  for (const k of opts.ks) checkK(k, data);
  const t0 = performance.now();
  const predictor = await TransferPredictor.pretrain(tf, data, task.train, config, (e, loss) => log?.(`  epoch ${e + 1}/${config.epochs} loss ${loss.toFixed(4)}`));
  const pretrainMs = performance.now() - t0;
  const enc = await encodeAsync(tf, data, config.encoding);
  const runs: TransferRun[] = [];
  try {
    for (const device of opts.devices ?? task.test) {
      const truth = requireDevice(data, device);
      // HELP's embedding needs the 10 reference archs measured: that representation has one sampler
      const plans: Array<[SampleSelector, number[]]> =
        config.deviceRep === 'help' ? [['reference', opts.ks.filter((k) => k >= data.referenceArchs.length)]] : [[opts.sampler, opts.ks]];
      if (config.deviceRep !== 'help') for (const s of opts.alsoSamplers?.samplers ?? []) plans.push([s, opts.alsoSamplers!.ks]);
      for (const [sampler, ks] of plans) {
        for (const k of ks) {
          for (const seed of opts.seeds) {
            const samples = selectSamples(sampler, k, data, task.train, enc, seed * 7919 + k);
            const r = await adaptAndScore(predictor, data, truth, samples);
            runs.push({ task: task.name, device, k, seed, sampler, ...r, samples });
          }
        }
      }
      log?.(`  ${device}: ${summarise(runs.filter((r) => r.device === device && r.k === 10 && r.sampler === plans[0]![0])).mean.toFixed(3)} (k=10)`);
    }
  } finally {
    predictor.dispose();
  }
  return { config, pretrainMs, runs };
}

export async function adaptAndScore(predictor: TransferPredictor, data: LatencyData, truth: Float64Array, samples: number[]) {
  const t1 = performance.now();
  const adapted = await predictor.adapt(samples, samples.map((i) => truth[i]!));
  const adaptMs = performance.now() - t1;
  const t2 = performance.now();
  const pred = adapted.predictAllMs();
  const predictMs = performance.now() - t2;
  if (pred.length !== data.ops.length) throw new Error('prediction size mismatch');
  return { ...rankMetrics(pred, truth, samples), adaptMs, predictMs, source: adapted.source };
}

export function summarise(runs: Array<{ spearman: number }>): { mean: number; std: number; n: number } {
  const xs = runs.map((r) => r.spearman);
  if (xs.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std, n: xs.length };
}

export function parseKs(s: string): number[] {
  const ks = s.split(',').map(Number);
  if (ks.some((k) => !Number.isInteger(k) || k < 2)) throw new UserError(`expected integers >= 2 like 5,10,20, got '${s}'`, '--k');
  return ks;
}
