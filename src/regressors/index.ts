import { UserError } from '../util/errors.js';
import { forest } from './forest.js';
import { logLinear } from './linear.js';
import type { RegressorKind } from './types.js';

export const REGRESSORS: readonly RegressorKind[] = [logLinear, forest];

export function getRegressorKind(kind: string): RegressorKind {
  const k = REGRESSORS.find((r) => r.kind === kind);
  if (!k) throw new UserError(`unknown regressor '${kind}', expected one of ${REGRESSORS.map((r) => r.kind).join(', ')}`, 'regressor');
  return k;
}

export type { Regressor, RegressorKind } from './types.js';
export { featureSpace } from './features.js';
