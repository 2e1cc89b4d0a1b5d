import type { InferenceSession } from 'onnxruntime-common';
import type { Graph } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import type { DeviceSettings } from './settings.js';
import { pseudoRandom, randomInputs, type Prepared, type Runtime } from './types.js';

type OrtModule = typeof import('onnxruntime-node') | typeof import('onnxruntime-web');

/**
 * The one place session options are set: one execution provider, `threads` intra-op threads, one
 * inter-op thread, sequential execution (measurement, early-exit segments, head training alike).
 */
export function sessionOptions(threads: number, optLevel: InferenceSession.SessionOptions['graphOptimizationLevel'] = 'all', ep = 'cpu'): InferenceSession.SessionOptions {
  return { executionProviders: [ep], graphOptimizationLevel: optLevel, intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
}

/** Shared by onnxruntime-node (native CPU EP) and onnxruntime-web (wasm EP): same API, other engine. */
export abstract class OrtRuntime implements Runtime {
  abstract readonly device: string;
  abstract readonly description: string;
  abstract readonly threadChoices?: number[];
  readonly hasOptLevel = true;
  protected abstract load(): Promise<OrtModule>;
  protected abstract readonly ep: string;
  protected abstract readonly packageName: string;

  async info() {
    const ort = await this.load();
    const versions = ort.env.versions as Record<string, string>;
    return { runtime: this.packageName, version: versions.node ?? versions.web ?? versions.common ?? 'unknown', executionProvider: this.ep };
  }

  async prepare(graph: Graph, s: DeviceSettings): Promise<Prepared> {
    const data = randomInputs(graph);
    const ints = new Set(graph.int64Inputs ?? []);
    const inputs = graph.inputs.map((t, i) => ({ name: t.name, shape: t.shape, int64: ints.has(t.name), data: data[i] }));
    const p = await this.prepareOnnx(toOnnx(graph), inputs, s);
    return { ...p, outputs: () => p.outputs(graph.outputs.map((o) => o.name)) };
  }

  /**
   * A session for any ONNX model: float inputs get `data` or fixed pseudo-random values, int64
   * inputs (token ids) zeros. `profilePrefix` turns on onnxruntime's per-node profiler.
   */
  async prepareOnnx(bytes: Uint8Array, inputs: OnnxInput[], s: DeviceSettings, o: { profilePrefix?: string } = {}): Promise<PreparedOnnx> {
    const ort = await this.load();
    const options: InferenceSession.SessionOptions = {
      ...sessionOptions(s.threads, s.optLevel, this.ep),
      ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
    };
    const session = await ort.InferenceSession.create(bytes, options);
    const feeds = Object.fromEntries(
      inputs.map((t) => {
        const n = t.shape.reduce((a, b) => a * b, 1);
        return [t.name, t.int64 ? new ort.Tensor('int64', new BigInt64Array(n), t.shape) : new ort.Tensor('float32', t.data ?? pseudoRandom(n), t.shape)];
      }),
    );
    return {
      run: async () => {
        await session.run(feeds);
      },
      outputs: async (names?: string[]) => {
        const r = await session.run(feeds);
        return (names ?? session.outputNames).map((name) => r[name]!.data as Float32Array);
      },
      endProfiling: () => {
        session.endProfiling();
      },
      dispose: () => session.release(),
    };
  }
}

export interface OnnxInput {
  name: string;
  shape: number[];
  /** int64 token ids (fed as zeros) instead of float32 */
  int64?: boolean;
  data?: Float32Array;
}

export interface PreparedOnnx extends Omit<Prepared, 'outputs'> {
  outputs(names?: string[]): Promise<Float32Array[]>;
  /** writes onnxruntime's profile JSON (when the session was created with a profilePrefix) */
  endProfiling(): void;
}

export class OrtCpuRuntime extends OrtRuntime {
  readonly device = 'ort-cpu';
  readonly description = 'onnxruntime-node, native CPU execution provider';
  readonly threadChoices = undefined;
  protected readonly ep = 'cpu';
  protected readonly packageName = 'onnxruntime-node';
  protected async load() {
    // telemetry off before the native library loads (ort-node.ts does the same for static imports)
    await import('./ort-telemetry-off.js');
    return import('onnxruntime-node');
  }
}

export class OrtWasmRuntime extends OrtRuntime {
  readonly device = 'ort-wasm';
  readonly description = 'onnxruntime-web in Node, wasm execution provider (single thread, SIMD)';
  readonly threadChoices = [1];
  protected readonly ep = 'wasm';
  protected readonly packageName = 'onnxruntime-web';
  protected async load() {
    const ort = await import('onnxruntime-web');
    // wasm threads need cross-origin isolation in browsers and are unreliable in Node: pin to 1
    ort.env.wasm.numThreads = 1;
    return ort;
  }
}
