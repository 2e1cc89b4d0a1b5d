import { formatArch, NB201_OPS, requireDevice, type LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';

/**
 * Latency-constrained regularised evolution (Real et al., 2019) over NAS-Bench-201 cells:
 * maximise CIFAR-10 test accuracy (the real, tabulated value) subject to latency ≤ budget, where the
 * latency comes from a callback — a transferred predictor, or a real measurement.
 */
export interface EvolutionOptions {
  budgetMs: number;
  population: number;
  cycles: number;
  tournament: number;
  seed: number;
}

export const DEFAULT_EVOLUTION: Omit<EvolutionOptions, 'budgetMs'> = { population: 50, cycles: 1000, tournament: 10, seed: 1 };

export interface EvolutionResult {
  /** best architecture found (row index) whose latency estimate meets the budget, or -1 */
  best: number;
  /** distinct architectures whose latency was asked for */
  evaluated: number[];
}

export function evolve(data: LatencyData, latencyMs: (arch: number) => number, o: EvolutionOptions): EvolutionResult {
  if (data.space !== 'nb201' || !data.accuracy) throw new UserError(`NAS needs accuracies; only nb201 has them, got ${data.space}`, 'space');
  if (!(o.budgetMs > 0)) throw new UserError(`must be a positive number of milliseconds, got ${o.budgetMs}`, '--budget-ms');
  const acc = data.accuracy;
  const index = new Map(data.ops.map((ops, i) => [key(ops), i]));
  const rng = new Rng(o.seed);
  const seen = new Map<number, number>();
  const lat = (a: number) => {
    if (!seen.has(a)) seen.set(a, latencyMs(a));
    return seen.get(a)!;
  };
  const fitness = (a: number) => (lat(a) <= o.budgetMs ? acc[a]! : -lat(a)); // infeasible: prefer faster
  const population: number[] = Array.from({ length: o.population }, () => rng.int(0, data.ops.length - 1));
  let best = -1;
  const consider = (a: number) => {
    if (lat(a) <= o.budgetMs && (best < 0 || acc[a]! > acc[best]!)) best = a;
  };
  population.forEach(consider);
  for (let c = 0; c < o.cycles; c++) {
    const contenders = Array.from({ length: o.tournament }, () => population[rng.int(0, population.length - 1)]!);
    const parent = contenders.reduce((p, q) => (fitness(q) > fitness(p) ? q : p));
    const child = mutate(data.ops[parent]!, rng);
    const id = index.get(key(child))!;
    population.push(id);
    population.shift();
    consider(id);
  }
  return { best, evaluated: [...seen.keys()] };
}

function mutate(ops: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(ops);
  const pos = rng.int(0, out.length - 1);
  let op = out[pos]!;
  while (op === out[pos]) op = rng.int(0, NB201_OPS.length - 1);
  out[pos] = op;
  return out;
}

const key = (ops: Uint8Array) => Array.from(ops).join('');

/** the most accurate architecture whose true latency meets the budget */
export function bestUnderBudget(data: LatencyData, device: string, budgetMs: number): number {
  return firstUnderBudget(requireDevice(data, device), byAccuracy(data.accuracy!), budgetMs);
}

/** architecture ids, most accurate first (ties: lower id first) */
export function byAccuracy(accuracy: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: accuracy.length }, (_, i) => i).sort((a, b) => accuracy[b]! - accuracy[a]! || a - b);
}

/** the most accurate architecture whose latency meets the budget (-1: none), given `byAccuracy`'s order */
export function firstUnderBudget(latencyMs: ArrayLike<number>, order: Int32Array, budgetMs: number): number {
  for (const a of order) if (latencyMs[a]! <= budgetMs) return a;
  return -1;
}

/**
 * Wall-clock cost model of measuring one architecture on a device: `repeats` timed runs plus
 * warm-up at its real latency, plus a fixed per-model deployment overhead (export, copy to the
 * device, session creation). The defaults are stated in every report that uses them.
 */
export interface MeasurementCost {
  repeats: number;
  warmup: number;
  deployOverheadMs: number;
}

export const DEFAULT_MEASUREMENT_COST: MeasurementCost = { repeats: 50, warmup: 10, deployOverheadMs: 2000 };

export function measurementMs(latMs: number, c: MeasurementCost = DEFAULT_MEASUREMENT_COST): number {
  return latMs * (c.repeats + c.warmup) + c.deployOverheadMs;
}

export function archString(ops: Uint8Array): string {
  return formatArch('nb201', ops);
}
