import { fitNonNegativeRelative } from '../regressors/ridge.js';

/**
 * A per-device roofline for ops no module predictor covers (Transpose, Resize, Split, unfused
 * normalisation, …): ms = fixed + FLOPs / compute rate + bytes / memory rate, fitted with
 * non-negative coefficients on the relative error of every measured module sample of the device.
 */
export interface Roofline {
  fixedMs: number;
  msPerFlop: number;
  msPerByte: number;
  samples: number;
}

/** conservative defaults (≈5 GFLOP/s, 5 GB/s, 5 µs) for a store with no samples */
const FALLBACK: Roofline = { fixedMs: 0.005, msPerFlop: 2e-10, msPerByte: 2e-10, samples: 0 };

export function fitRoofline(rows: ReadonlyArray<{ flops: number; bytes: number; ms: number }>): Roofline {
  const ok = rows.filter((r) => r.ms > 0 && Number.isFinite(r.ms));
  if (ok.length < 10) return FALLBACK;
  const [fixedMs, msPerFlop, msPerByte] = fitNonNegativeRelative(ok.map((r) => [1, r.flops, r.bytes]), ok.map((r) => r.ms)) as [number, number, number];
  return { fixedMs, msPerFlop, msPerByte, samples: ok.length };
}

export const rooflineMs = (r: Roofline, flops: number, bytes: number) => r.fixedMs + r.msPerFlop * flops + r.msPerByte * bytes;
