import type { Graph } from '../ir/graph.js';
import type { DeviceSettings } from '../profile/space.js';

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

export function randomInputs(g: Graph, seed = 7): Float32Array[] {
  let s = seed;
  return g.inputs.map((t) => {
    const a = new Float32Array(t.shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      a[i] = s / 2 ** 32 - 0.5;
    }
    return a;
  });
}
