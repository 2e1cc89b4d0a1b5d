import { UserError } from '../util/errors.js';
import { mhsa } from './attention.js';
import { convBnAct } from './conv-bn-act.js';
import { conv2d } from './conv2d.js';
import { convtranspose } from './convtranspose.js';
import { linear, matmul } from './dense.js';
import { lstm } from './lstm.js';
import { dwconv } from './dwconv.js';
import { activation, add, batchnorm, concat, layernorm, softmax } from './elementwise.js';
import { mbconv } from './mbconv.js';
import { avgpool, globalavgpool, maxpool } from './pool.js';
import { pwconv } from './pwconv.js';
import { resblock } from './resblock.js';
import type { ModuleDef } from './types.js';

/** Every profilable module. Adding one = one file exporting a ModuleDef + one line here. */
export const MODULES: readonly ModuleDef[] = [
  conv2d, dwconv, pwconv, convBnAct, mbconv, resblock, convtranspose,
  linear, matmul, lstm, maxpool, avgpool, globalavgpool,
  batchnorm, activation, add, concat, softmax, layernorm, mhsa,
];

export function getModule(name: string): ModuleDef {
  const m = MODULES.find((x) => x.name === name);
  if (!m) throw new UserError(`unknown module '${name}', expected one of: ${MODULES.map((x) => x.name).join(', ')}`, 'module');
  return m;
}

export type { ModuleDef, Params, ParamSpec, Domain } from './types.js';
