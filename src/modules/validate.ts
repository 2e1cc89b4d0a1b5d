import { UserError } from '../util/errors.js';
import type { ModuleDef, Params } from './types.js';

/**
 * Checks a user-given parameter object against a module's specs: every parameter present, of the
 * right type, none unknown. Errors name the field and what was expected.
 */
export function validateParams(m: ModuleDef, p: unknown, where = 'params'): Params {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new UserError(`expected an object of ${m.name} parameters, got ${JSON.stringify(p)}`, where);
  const obj = p as Record<string, unknown>;
  const known = new Set(m.params.map((s) => s.name));
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) throw new UserError(`unknown parameter of ${m.name}; expected ${m.params.map((s) => s.name).join(', ')}`, `${where}.${k}`);
  }
  const out: Params = {};
  for (const s of m.params) {
    const v = obj[s.name];
    const field = `${where}.${s.name}`;
    if (v === undefined) throw new UserError(`missing (${s.doc})`, field);
    if (s.kind === 'int') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < (s.atLeast ?? 1)) throw new UserError(`expected an integer >= ${s.atLeast ?? 1}, got ${JSON.stringify(v)}`, field);
    } else if (!s.allowed!.includes(v as string)) {
      throw new UserError(`expected one of ${s.allowed!.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`, field);
    }
    out[s.name] = v as number | string;
  }
  m.build(out, 1, false); // an impossible shape throws a UserError naming the field
  return out;
}
