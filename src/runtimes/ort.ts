import type { InferenceSession } from 'onnxruntime-common';
import type { Graph } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import type { DeviceSettings } from '../profile/space.js';
import { randomInputs, type Prepared, type Runtime } from './types.js';

type OrtModule = typeof import('onnxruntime-node') | typeof import('onnxruntime-web');

/** Shared by onnxruntime-node (native CPU EP) and onnxruntime-web (wasm EP): same API, other engine. */
abstract class OrtRuntime implements Runtime {
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
    const ort = await this.load();
    const bytes = toOnnx(graph);
    const options: InferenceSession.SessionOptions = {
      executionProviders: [this.ep],
      graphOptimizationLevel: s.optLevel,
      intraOpNumThreads: s.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    const session = await ort.InferenceSession.create(bytes, options);
    const data = randomInputs(graph);
    const feeds = Object.fromEntries(graph.inputs.map((t, i) => [t.name, new ort.Tensor('float32', data[i]!, t.shape)]));
    return {
      run: async () => {
        await session.run(feeds);
      },
      outputs: async () => {
        const r = await session.run(feeds);
        return graph.outputs.map((o) => r[o.name]!.data as Float32Array);
      },
      dispose: () => session.release(),
    };
  }
}

export class OrtCpuRuntime extends OrtRuntime {
  readonly device = 'ort-cpu';
  readonly description = 'onnxruntime-node, native CPU execution provider';
  readonly threadChoices = undefined;
  protected readonly ep = 'cpu';
  protected readonly packageName = 'onnxruntime-node';
  protected load() {
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
