import type { Graph } from '../ir/graph.js';
import type { DeviceSettings } from './settings.js';

/** A module compiled for a device, ready to be timed. */
export interface Prepared {
  /** one inference on fixed random inputs; resolves when the output is available */
  run(): Promise<void>;
  /** one inference returning the outputs (for cross-runtime correctness checks) */
  outputs(): Promise<Float32Array[]>;
  dispose(): Promise<void> | void;
}

/** A "device" = an inference runtime with its settings. */
export interface Runtime {
  readonly device: string;
  readonly description: string;
  /** thread counts this device can run with (undefined = any) */
  readonly threadChoices?: number[];
  /** whether graph optimisation level is a real setting here */
  readonly hasOptLevel: boolean;
  info(): Promise<{ runtime: string; version: string; executionProvider: string }>;
  /** builds the session / weights; the caller times this as "session creation" */
  prepare(graph: Graph, settings: DeviceSettings): Promise<Prepared>;
}

/** fixed pseudo-random values in [-0.5, 0.5): the same inputs on every runtime */
export function pseudoRandom(n: number, seed = 7): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

export function randomInputs(g: Graph, seed = 7): Float32Array[] {
  return g.inputs.map((t, i) => pseudoRandom(t.shape.reduce((x, y) => x * y, 1), seed + 7919 * i));
}
