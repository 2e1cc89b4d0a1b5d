import type { LatencyData } from '../data/latency.js';
import { analyticCosts, nOps } from '../transfer/encoding.js';
import { UserError } from '../util/errors.js';

/**
 * What the scale models know about a device: the log latencies of the space's 10 reference
 * architectures (HELP's), split into their mean (`scale`, how fast the device is overall) and the
 * deviations from it (`shape`, which kinds of architecture it favours). A new device is described
 * by measuring those 10 architectures, nothing else.
 */
export interface DeviceFeatures {
  shape: number[];
  scale: number;
}

export function deviceFeatures(refLatMs: readonly number[], where = 'reference latencies'): DeviceFeatures {
  if (refLatMs.length === 0 || refLatMs.some((v) => !(v > 0) || !Number.isFinite(v))) {
    throw new UserError(`need positive, finite latencies in ms, got [${refLatMs.join(', ')}]`, where);
  }
  const logs = refLatMs.map(Math.log);
  const scale = logs.reduce((a, b) => a + b, 0) / logs.length;
  return { shape: logs.map((v) => v - scale), scale };
}

/** features of a device of the table: its measured latencies of the reference architectures */
export function tableDeviceFeatures(data: LatencyData, device: string): DeviceFeatures {
  const lat = data.latency.get(device)!;
  return deviceFeatures(data.referenceArchs.map((a) => lat[a]!), device);
}

/** one-hot op per position plus standardised log FLOPs and log params, one row per architecture */
export function archFeatures(data: LatencyData): Float32Array[] {
  const ops = nOps(data);
  const costs = analyticCosts(data);
  return data.ops.map((o, r) => {
    const x = new Float32Array(o.length * ops + 2);
    for (let p = 0; p < o.length; p++) x[p * ops + o[p]!] = 1;
    x[o.length * ops] = costs[r]![0]!;
    x[o.length * ops + 1] = costs[r]![1]!;
    return x;
  });
}

/** mean and population standard deviation (1 when constant), for standardising model inputs */
export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length) || 1;
  return { mean, sd };
}

/**
 * How many positions use each op, the first op left out (the counts sum to the number of
 * positions): the features of the additive cost model in PairPredictor.forDevice. On NB201 every
 * cell of a network is the same, so a device that adds up per-op costs in milliseconds is
 * described by 4 costs and a constant: fitted on all 15,625 architectures, that model puts every
 * one within ±5 % on fpga, eyeriss, 1080ti_256 and the other batch-256 GPUs
 * (scripts/scale-additive-fit.mjs).
 */
export function opCounts(data: LatencyData): Float64Array[] {
  const ops = nOps(data);
  return data.ops.map((o) => {
    const c = new Float64Array(ops - 1);
    for (const op of o) if (op > 0) c[op - 1]!++;
    return c;
  });
}
