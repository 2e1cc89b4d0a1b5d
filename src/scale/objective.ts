import type { LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';

/**
 * What a design maximises: NB201's CIFAR-10 test accuracy; FBNet has no accuracy table, so its
 * Zen-NAS zero-cost proxy stands in (said so wherever a figure uses it). Undefined when the table
 * has neither.
 */
export function findDesignObjective(data: LatencyData): { name: string; values: ArrayLike<number> } | undefined {
  if (data.accuracy) return { name: 'CIFAR-10 test accuracy (%)', values: data.accuracy };
  const i = data.proxies?.names.indexOf('zen') ?? -1;
  return i < 0 ? undefined : { name: "zero-cost proxy 'zen' (accuracy stand-in)", values: data.proxies!.values.map((v) => v[i]!) };
}

/** findDesignObjective, or a clear error for a table with neither */
export function designObjective(data: LatencyData): { name: string; values: ArrayLike<number> } {
  const o = findDesignObjective(data);
  if (!o) throw new UserError(`${data.space} has neither accuracies nor the 'zen' proxy to design for`, 'space');
  return o;
}
