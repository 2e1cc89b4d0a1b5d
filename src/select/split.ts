import type { FeatureOptions } from '../regressors/features.js';
import { hardwareFacts } from '../runtimes/hardware.js';
import { Rng } from '../util/random.js';

/** Splits rows into train and validation, reproducibly. */
export function splitRows<T>(rows: readonly T[], valFraction: number, seed: number): { train: T[]; val: T[] } {
  const order = new Rng(seed).shuffle(rows.map((_, i) => i));
  const nVal = Math.max(2, Math.round(rows.length * valFraction));
  return { val: order.slice(0, nVal).map((i) => rows[i]!), train: order.slice(nVal).map((i) => rows[i]!) };
}

/** the feature options of a device: its hardware facts (vector width, caches) and the kernel features */
export function featureOptionsFor(device: string, kernelFeatures = true): FeatureOptions {
  return { hardware: hardwareFacts(device), kernel: kernelFeatures };
}
