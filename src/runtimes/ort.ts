import type { InferenceSession } from 'onnxruntime-common';
import type { Graph } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import { UserError } from '../util/errors.js';
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
    const inputs = graph.inputs.map((t, i): OnnxInput => ({ name: t.name, shape: t.shape, ...(ints.has(t.name) ? { type: 'int64' } : {}), data: data[i] }));
    const p = await this.prepareOnnx(toOnnx(graph), inputs, s);
    return { ...p, outputs: () => p.outputs(graph.outputs.map((o) => o.name)) };
  }

  /**
   * A session for any ONNX model: float inputs get `data` or fixed pseudo-random values, inputs of
   * the other feed types (token ids, uint8 images, masks) zeros. `profilePrefix` turns on onnxruntime's per-node profiler.
   */
  async prepareOnnx(bytes: Uint8Array, inputs: OnnxInput[], s: DeviceSettings, o: { profilePrefix?: string } = {}): Promise<PreparedOnnx> {
    const bad = inputs.find((t) => t.unfeedable);
    if (bad) throw new UserError(bad.unfeedable!);
    const ort = await this.load();
    const options: InferenceSession.SessionOptions = {
      ...sessionOptions(s.threads, s.optLevel, this.ep),
      ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
    };
    const session = await ort.InferenceSession.create(bytes, options);
    const feeds = Object.fromEntries(
      inputs.map((t) => {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const type = t.type ?? (t.int64 ? 'int64' : 'float32');
        return [t.name, type === 'float32' ? new ort.Tensor('float32', t.data ?? pseudoRandom(n), t.shape) : new ort.Tensor(type, zeros(type, n), t.shape)];
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

/** element types latencylab can feed a model: float32 gets `data` or pseudo-random values, the others zeros */
export const FEED_TYPES = ['float32', 'float16', 'int64', 'int32', 'int8', 'uint8', 'bool'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

export interface OnnxInput {
  name: string;
  shape: number[];
  /** element type (default float32); any other is fed zeros (int64 token ids, uint8 images, masks) */
  type?: FeedType;
  /** as `type: 'int64'`: how earlier versions (and fleet jobs they stored) marked token ids */
  int64?: boolean;
  /** why this input cannot be fed (an element type outside FEED_TYPES): measuring refuses the model with it */
  unfeedable?: string;
  data?: Float32Array;
}

/** zeros of a feed type (float16 as its bit pattern: zero is zero) */
function zeros(type: Exclude<FeedType, 'float32'>, n: number): BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array {
  switch (type) {
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'float16':
      return new Uint16Array(n);
    default:
      return new Uint8Array(n); // uint8, bool
  }
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
