import { UserError } from '../util/errors.js';
import { additiveGbt } from './additive-gbt.js';
import { ensemble } from './ensemble.js';
import { forest } from './forest.js';
import { gbt } from './gbt.js';
import { knn } from './knn.js';
import { logLinear, poly2 } from './linear.js';
import { medn, mlp } from './mlp.js';
import type { RegressorKind } from './types.js';

/** The RM zoo. Adding an RM = one file exporting a RegressorKind + one line here. */
export const REGRESSORS: readonly RegressorKind[] = [logLinear, poly2, knn, forest, gbt, additiveGbt, mlp, medn, ensemble];

export function getRegressorKind(kind: string): RegressorKind {
  const k = REGRESSORS.find((r) => r.kind === kind);
  if (!k) throw new UserError(`unknown regressor '${kind}', expected one of ${REGRESSORS.map((r) => r.kind).join(', ')}`, 'regressor');
  return k;
}

export type { FitContext, Regressor, RegressorKind } from './types.js';
export { featureSpace, type FeatureSpace, type FeatureSource } from './features.js';
