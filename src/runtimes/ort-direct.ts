import { createRequire } from 'node:module';
import ort from './ort-node.js';
import type { InferenceSession, Tensor } from 'onnxruntime-common';

/**
 * An onnxruntime-node session whose `run` is a plain synchronous call into the native binding.
 *
 * The native run is synchronous already; the package's public `InferenceSession.run` wraps it in
 * argument checks, a `setImmediate` hop and a re-wrap of every output tensor, which costs 15–25 µs
 * per run on this machine (scratch measurement on the Fashion-MNIST backbone, 3,000 runs × 4
 * rounds: 384–399 µs public vs 370–377 µs direct) and, under HTTP load, lets other requests' I/O
 * in between two segments of one request. On the early-exit request path a request makes one to
 * three runs of 0.1–0.2 ms, so that overhead is a tenth of its time. This calls the same binding
 * object the package's own session handler uses (`onnxruntime-node/dist/binding.js`, the version
 * pinned by the lockfile); test/ort-direct.test.ts checks its answers equal the public API's, so
 * an upgrade that moves it fails there, not in a user's server.
 *
 * Used where many small runs sit on a request path (early-exit segments); measurement keeps the
 * public API, whose cost is part of what a user's code pays.
 */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: InferenceSession.SessionOptions): void;
  readonly inputMetadata: Array<{ name: string }>;
  readonly outputMetadata: Array<{ name: string }>;
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor>;
  dispose(): void;
}

interface Binding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

let binding: Binding | undefined;
function nativeBinding(): Binding {
  if (!binding) {
    // resolved from the package's main entry: the package has no "exports" map to forbid it, but
    // this keeps it working if one appears that still ships the file
    const require = createRequire(import.meta.url);
    const main = require.resolve('onnxruntime-node');
    binding = createRequire(main)('./binding.js') as Binding;
    if (typeof binding.binding?.InferenceSession !== 'function' || typeof binding.initOrt !== 'function') {
      throw new Error(`onnxruntime-node's native binding (${main} → ./binding.js) no longer has the shape this code expects; check src/runtimes/ort-direct.ts against the installed version`);
    }
  }
  return binding;
}

export class DirectSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly fetches: Record<string, null>;
  private released = false;

  private constructor(private readonly native: NativeSession) {
    this.inputNames = native.inputMetadata.map((m) => m.name);
    this.outputNames = native.outputMetadata.map((m) => m.name);
    this.fetches = Object.fromEntries(this.outputNames.map((n) => [n, null]));
  }

  /** creates the session (synchronously, on this thread, as the public API also does) */
  static create(model: Uint8Array, options: InferenceSession.SessionOptions): DirectSession {
    void ort.env; // the package's environment is set up before its binding is first used
    const b = nativeBinding();
    b.initOrt();
    const native = new b.binding.InferenceSession();
    native.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
    return new DirectSession(native);
  }

  /** every output of the model, computed before this returns */
  run(feeds: Record<string, Tensor>): Record<string, Tensor> {
    if (this.released) throw new Error('session used after release()');
    for (const name of this.inputNames) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing from the feeds (model inputs: ${this.inputNames.join(', ')})`);
    return this.native.run(feeds, this.fetches, {});
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.native.dispose();
  }
}
