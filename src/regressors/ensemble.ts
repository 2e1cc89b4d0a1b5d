import { gbt } from './gbt.js';
import { mlp } from './mlp.js';
import type { FitContext, Regressor, RegressorKind } from './types.js';

/**
 * Trees and a network err in different places: a tree answers in steps (flat between the splits
 * it saw), a network smoothly. Their geometric mean — the mean in log space, where every RM
 * learns — removed part of both errors on conv2d (bench:regressors' validation split).
 */
const MEMBERS: readonly RegressorKind[] = [gbt, mlp];

interface EnsembleState {
  members: Array<{ kind: string; state: unknown }>;
}

class Ensemble implements Regressor {
  readonly kind = 'ensemble';
  constructor(private readonly seed: number, private members?: Regressor[]) {}

  async fit(X: number[][], yMs: number[], ctx?: FitContext): Promise<void> {
    const members = MEMBERS.map((k) => k.create(this.seed));
    for (const m of members) await m.fit(X, yMs, ctx);
    this.members = members;
  }

  predict(X: number[][]): number[] {
    const members = this.members;
    if (!members) throw new Error('ensemble: predict before fit');
    const logSum = new Float64Array(X.length);
    for (const m of members) {
      // every member answers exp(·) of a log-space model, so > 0; the floor keeps an underflow finite
      m.predict(X).forEach((p, i) => (logSum[i]! += Math.log(Math.max(p, 1e-12))));
    }
    return Array.from(logSum, (s) => Math.exp(s / members.length));
  }

  toJSON(): EnsembleState {
    if (!this.members) throw new Error('ensemble: toJSON before fit');
    return { members: this.members.map((m) => ({ kind: m.kind, state: m.toJSON() })) };
  }
}

function load(json: unknown): Regressor {
  const s = json as EnsembleState | undefined;
  if (!s || !Array.isArray(s.members) || s.members.length !== MEMBERS.length) {
    throw new Error(`the stored ensemble state is damaged (expected ${MEMBERS.length} members: ${MEMBERS.map((k) => k.kind).join(', ')})`);
  }
  return new Ensemble(0, s.members.map((m, i) => {
    const kind = MEMBERS[i]!;
    if (m?.kind !== kind.kind) throw new Error(`the stored ensemble state is damaged (member ${i + 1} is '${String(m?.kind)}', expected '${kind.kind}')`);
    return kind.load(m.state);
  }));
}

export const ensemble: RegressorKind = {
  kind: 'ensemble',
  description: `geometric mean of ${MEMBERS.map((k) => k.kind).join(' and ')} trained on the same rows`,
  library: 'own (members: their own)',
  create: (seed) => new Ensemble(seed),
  load,
  // auto-selection fits every kind on the same rows anyway: the members it already fitted are reused
  compose: (fitted) => {
    const members = MEMBERS.map((k) => fitted.get(k.kind));
    return members.every((m): m is Regressor => !!m) ? new Ensemble(0, members) : undefined;
  },
  members: MEMBERS.map((k) => k.kind),
};
