import type { LatencyData } from '../data/latency.js';
import { fitRidge } from '../regressors/ridge.js';
import { UserError } from '../util/errors.js';
import { spearman } from '../util/stats.js';

/**
 * Proxy reuse: a new device with k measured architectures borrows the full latency table of the
 * device(s) that rank those k most alike (performance monotonicity), mapped to the new device's
 * milliseconds by a monotone fit. No training; the ranking is exactly the proxy's.
 */
export const PROXY_MAPPINGS = ['loglinear', 'isotonic'] as const;
export type ProxyMapping = (typeof PROXY_MAPPINGS)[number];

export interface ProxyOptions {
  /** how many best-agreeing devices to combine (mean of their standardised log latencies) */
  combine: number;
  mapping: ProxyMapping;
}

export const DEFAULT_PROXY: ProxyOptions = { combine: 1, mapping: 'loglinear' };

export interface ProxyPrediction {
  proxies: string[];
  /** Spearman of each chosen proxy with the k measurements */
  agreement: number[];
  predictAllMs(): Float64Array;
}

export function proxyReuse(data: LatencyData, candidates: readonly string[], rows: readonly number[], yMs: readonly number[], o: ProxyOptions = DEFAULT_PROXY): ProxyPrediction {
  if (rows.length < 3 || rows.length !== yMs.length) throw new UserError(`needs at least 3 measured architectures with a latency each, got ${rows.length} and ${yMs.length}`, 'samples');
  if (candidates.length === 0) throw new UserError('needs at least one proxy device', 'proxies');
  const logY = yMs.map(Math.log);
  const scored = candidates.map((d) => {
    const lat = data.latency.get(d)!;
    const x = rows.map((r) => Math.log(lat[r]!));
    return { d, rho: spearman(x, logY), loo: fitRidge(x.map((v) => [v]), logY, [1e-6]).loo.reduce((s, p, i) => s + (p - logY[i]!) ** 2, 0) };
  });
  // best agreement first; a leave-one-out error breaks ties (k = 10 gives many equal Spearmans)
  scored.sort((a, b) => b.rho - a.rho || a.loo - b.loo);
  const chosen = scored.slice(0, Math.max(1, Math.min(o.combine, scored.length)));
  const column = combinedColumn(data, chosen.map((c) => c.d));
  const x = rows.map((r) => column[r]!);
  const map = o.mapping === 'isotonic' ? isotonicMap(x, logY) : linearMap(x, logY);
  return {
    proxies: chosen.map((c) => c.d),
    agreement: chosen.map((c) => c.rho),
    predictAllMs: () => Float64Array.from(column, (v) => Math.exp(map(v))),
  };
}

/** mean over devices of log latency standardised per device (one device: its log latency) */
function combinedColumn(data: LatencyData, devices: string[]): Float64Array {
  const N = data.ops.length;
  if (devices.length === 1) return Float64Array.from(data.latency.get(devices[0]!)!, Math.log);
  const out = new Float64Array(N);
  for (const d of devices) {
    const logs = Float64Array.from(data.latency.get(d)!, Math.log);
    const m = logs.reduce((a, b) => a + b, 0) / N;
    const sd = Math.sqrt(logs.reduce((s, v) => s + (v - m) ** 2, 0) / N) || 1;
    for (let i = 0; i < N; i++) out[i]! += (logs[i]! - m) / sd / devices.length;
  }
  return out;
}

function linearMap(x: number[], y: number[]): (v: number) => number {
  const m = fitRidge(x.map((v) => [v]), y, [1e-6]);
  return (v) => m.predict([v]);
}

/**
 * Isotonic regression (pool adjacent violators) of y on x, interpolated linearly between the
 * pooled blocks' centres — strictly increasing between them, so it keeps the proxy's ranking — and
 * continued outside them with the log-linear fit's slope (flat if that slope is not positive).
 */
export function isotonicMap(x: number[], y: number[]): (v: number) => number {
  const idx = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const blocks: Array<{ x: number; y: number; n: number }> = [];
  for (const i of idx) {
    blocks.push({ x: x[i]!, y: y[i]!, n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.y >= blocks[blocks.length - 1]!.y) {
      const b = blocks.pop()!;
      const a = blocks.pop()!;
      blocks.push({ x: (a.x * a.n + b.x * b.n) / (a.n + b.n), y: (a.y * a.n + b.y * b.n) / (a.n + b.n), n: a.n + b.n });
    }
  }
  const lin = fitRidge(x.map((v) => [v]), y, [1e-6]);
  const slope = Math.max(0, lin.predict([1]) - lin.predict([0]));
  const first = blocks[0]!;
  const last = blocks[blocks.length - 1]!;
  return (v) => {
    if (blocks.length === 1 || v <= first.x) return first.y + slope * (v - first.x);
    if (v >= last.x) return last.y + slope * (v - last.x);
    let lo = 0;
    while (blocks[lo + 1]!.x < v) lo++;
    const a = blocks[lo]!;
    const b = blocks[lo + 1]!;
    return a.y + ((b.y - a.y) * (v - a.x)) / (b.x - a.x || 1);
  };
}
