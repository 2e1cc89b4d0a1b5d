import { netPredict, trainNet, type NetState } from './nn.js';
import type { FitContext, Regressor, RegressorKind } from './types.js';

/** encoder 64-64 + head 32: the same network MEDN has, with one task */
const MLP_SPEC = { encoder: [64, 64], head: [32], tasks: 1 };
/** MEDN: the same encoder shared by every task, one 32-unit decoder head per task */
const MEDN_SPEC = { encoder: [64, 64], head: [32] };

class Net implements Regressor {
  constructor(readonly kind: string, private readonly seed: number, private readonly multiTask: boolean, private state?: NetState) {}

  async fit(X: number[][], yMs: number[], ctx?: FitContext): Promise<void> {
    const aux = this.multiTask ? (ctx?.tasks ?? []) : [];
    const rows = this.multiTask ? X.map((_, i) => i) : X.map((_, i) => i).filter((i) => Number.isFinite(yMs[i]));
    const Y = rows.map((i) => [yMs[i]!, ...aux.map((t) => t.y[i]!)]);
    this.state = await trainNet({ ...MEDN_SPEC, ...(this.multiTask ? { tasks: 1 + aux.length } : MLP_SPEC) }, rows.map((i) => X[i]!), Y, { seed: this.seed });
  }

  predict(X: number[][]): number[] {
    if (!this.state) throw new Error(`${this.kind}: predict before fit`);
    return netPredict(this.state, X, 0);
  }

  /** MEDN: the prediction of auxiliary task `t` (1-based, in FitContext.tasks order + 1) */
  predictTask(X: number[][], t: number): number[] {
    if (!this.state) throw new Error(`${this.kind}: predict before fit`);
    return netPredict(this.state, X, t);
  }

  toJSON(): unknown {
    return this.state;
  }
}

export const mlp: RegressorKind = {
  kind: 'mlp',
  description: 'MLP 64-64-32 (ReLU) on standardised features, log target, Adam + early stopping (tfjs wasm)',
  library: '@tensorflow/tfjs (wasm)',
  create: (seed) => new Net('mlp', seed, false),
  load: (json) => new Net('mlp', 0, false, json as NetState),
};

export const medn: RegressorKind = {
  kind: 'medn',
  description: 'MEDN: shared encoder 64-64, one decoder head (32) per task, trained jointly on every device setting and target given',
  library: '@tensorflow/tfjs (wasm)',
  multiTask: true,
  create: (seed) => new Net('medn', seed, true),
  load: (json) => new Net('medn', 0, true, json as NetState),
};

export type MultiTaskNet = Net;
