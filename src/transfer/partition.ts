import type { LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { spearman } from '../util/stats.js';
import type { TransferTask } from './tasks.js';

/**
 * Automatic train/test device partitions from the devices' rank-correlation structure, labelled
 * by how far the test devices are from anything in training, so a predictor can be tested on
 * partitions nobody hand-picked.
 *
 * distance(test device) = 1 − max Spearman to any training device; a partition's difficulty is the
 * mean over its test devices. easy < 0.02 (a near-twin is in training), medium < 0.08, else hard.
 */
export interface GeneratedTask extends TransferTask {
  difficulty: number;
  label: 'easy' | 'medium' | 'hard';
}

export function deviceCorrelations(data: LatencyData, sample = 2000, seed = 1): number[][] {
  const idx = new Rng(seed).shuffle([...Array(data.ops.length).keys()]).slice(0, sample);
  const cols = data.devices.map((d) => idx.map((i) => data.latency.get(d)![i]!));
  return cols.map((a) => cols.map((b) => spearman(a, b)));
}

export function generateTasks(data: LatencyData, o: { count: number; testSize: number; seed: number }): GeneratedTask[] {
  const D = data.devices.length;
  if (!Number.isInteger(o.testSize) || o.testSize < 1 || o.testSize > D - 2) throw new UserError(`must be an integer in [1, ${D - 2}] for ${data.space}`, '--test-size');
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 50) throw new UserError('must be an integer in [1, 50]', '--count');
  const rho = deviceCorrelations(data);
  const rng = new Rng(o.seed);
  const candidates: Array<{ test: number[]; difficulty: number }> = [];
  const score = (test: number[]) => {
    const train = [...Array(D).keys()].filter((d) => !test.includes(d));
    return test.reduce((s, t) => s + (1 - Math.max(...train.map((r) => rho[t]![r]!))), 0) / test.length;
  };
  // random subsets give mostly easy partitions; holding out a device with its nearest neighbours
  // (a correlation cluster) gives the hard ones
  for (let i = 0; i < 300; i++) {
    const test = rng.shuffle([...Array(D).keys()]).slice(0, o.testSize);
    candidates.push({ test, difficulty: score(test) });
  }
  for (let seedDev = 0; seedDev < D; seedDev++) {
    const test = [...Array(D).keys()].sort((a, b) => rho[seedDev]![b]! - rho[seedDev]![a]!).slice(0, o.testSize);
    candidates.push({ test, difficulty: score(test) });
  }
  const unique = new Map(candidates.map((c) => [[...c.test].sort((a, b) => a - b).join(','), c]));
  const sorted = [...unique.values()].sort((a, b) => a.difficulty - b.difficulty);
  const picks = Array.from({ length: Math.min(o.count, sorted.length) }, (_, i) => sorted[Math.round((i * (sorted.length - 1)) / Math.max(1, o.count - 1))]!);
  return picks.map((p, i) => {
    const label = p.difficulty < 0.02 ? 'easy' : p.difficulty < 0.08 ? 'medium' : 'hard';
    return {
      name: `auto-${data.space}-${i + 1}-${label}`,
      space: data.space,
      train: data.devices.filter((_, d) => !p.test.includes(d)),
      test: p.test.map((d) => data.devices[d]!),
      difficulty: p.difficulty,
      label,
      source: `generated from the device rank-correlation structure (seed ${o.seed})`,
    };
  });
}
