import { columnIndex, numberAt, readCsv } from '../data/csv.js';
import { formatArch, parseArch, type LatencyData } from '../data/latency.js';
import { UserError } from '../util/errors.js';

/**
 * A device described by what a user measured on it: a CSV with columns `arch` (an id of the
 * table, or the architecture written as `formatArch` does) and `latency_ms`.
 */
export interface MeasuredDevice {
  file: string;
  /** arch row → measured ms (one row per arch) */
  latency: Map<number, number>;
}

export function readDeviceLatencies(file: string, data: LatencyData): MeasuredDevice {
  const csv = readCsv(file);
  const archCol = columnIndex(csv, 'arch');
  const msCol = columnIndex(csv, 'latency_ms');
  const latency = new Map<number, number>();
  csv.rows.forEach((r, i) => {
    const where = `${file}: line ${i + 2}, column 'arch'`;
    const arch = parseArch(data, r[archCol]!, where);
    if (latency.has(arch)) throw new UserError(`architecture ${arch} appears twice`, where);
    latency.set(arch, numberAt(csv, i, msCol, true));
  });
  if (latency.size === 0) throw new UserError('has no rows: expected one line per measured architecture', file);
  return { file, latency };
}

/** the measured latencies of the space's reference architectures, in their order; names the missing ones */
export function referenceLatencies(dev: MeasuredDevice, data: LatencyData): number[] {
  const missing = data.referenceArchs.filter((a) => !dev.latency.has(a));
  if (missing.length) {
    throw new UserError(
      `lacks ${missing.length} of the ${data.referenceArchs.length} reference architectures the device features are made of; measure and add: ${missing.map((a) => `${a} (${formatArch(data.space, data.ops[a]!)})`).join(', ')}`,
      dev.file,
    );
  }
  return data.referenceArchs.map((a) => dev.latency.get(a)!);
}
