import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import type { Graph } from '../ir/graph.js';
import { TfjsGraphRunner } from '../ir/tfjs.js';
import { randomInputs, type Prepared, type Runtime } from './types.js';

let tfPromise: Promise<typeof tfType> | undefined;

/** tfjs with the wasm backend, initialised once per process (shared with the neural regressors). */
export function loadTfjsWasm(): Promise<typeof tfType> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  })();
  return tfPromise;
}

export class TfjsWasmRuntime implements Runtime {
  readonly device = 'tfjs-wasm';
  readonly description = 'TensorFlow.js ops on the wasm backend (SIMD, single thread)';
  readonly threadChoices = [1];
  readonly hasOptLevel = false;

  async info() {
    const tf = await loadTfjsWasm();
    return { runtime: '@tensorflow/tfjs', version: tf.version.tfjs, executionProvider: 'wasm' };
  }

  async prepare(graph: Graph): Promise<Prepared> {
    const tf = await loadTfjsWasm();
    const runner = new TfjsGraphRunner(tf, graph);
    const inputs = runner.makeInputs(randomInputs(graph));
    return {
      run: async () => {
        const outs = tf.tidy(() => runner.run(inputs));
        await Promise.all(outs.map((o) => o.data()));
        tf.dispose(outs);
      },
      outputs: async () => {
        const outs = tf.tidy(() => runner.run(inputs, true));
        const data = await Promise.all(outs.map(async (o) => (await o.data()) as Float32Array));
        tf.dispose(outs);
        return data;
      },
      dispose: () => {
        tf.dispose(inputs);
        runner.dispose();
      },
    };
  }
}
