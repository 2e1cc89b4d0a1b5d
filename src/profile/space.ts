import { readFileSync } from 'node:fs';
import type { ModuleDef } from '../modules/index.js';
import { isRange, type Domain, type IntRange, type ParamValue } from '../modules/types.js';
import { UserError } from '../util/errors.js';
import { OPT_LEVELS, type DeviceSettings, type LoadLevel, type OptLevel } from '../runtimes/settings.js';

/**
 * The parameter space of one profiling run: module parameters plus device-side parameters.
 *
 * Space file (JSON), every key optional; a module parameter left out keeps its default domain:
 * {
 *   "params": { "cin": { "min": 8, "max": 64, "step": 8, "log": true }, "k": [1, 3, 5] },
 *   "device": { "threads": [1, 2], "optLevel": ["all"], "load": [{ "workers": 0 }, { "workers": 1, "duty": 0.5 }] },
 *   "limits": { "maxMacs": 3e8, "maxBytes": 67108864 }
 * }
 * A list is sampled uniformly (repeat a value to weight it); a range is sampled on min + j·step,
 * log-uniformly when "log" is true.
 */
export { OPT_LEVELS, type DeviceSettings, type LoadLevel, type OptLevel };

export interface Space {
  params: Record<string, Domain>;
  device: { threads: number[]; optLevel: OptLevel[]; load: LoadLevel[] };
  /** configurations above these costs are skipped: they would dominate the profiling time */
  limits: { maxMacs: number; maxBytes: number };
}

/** ≈10 ms for one 1-thread conv on the reference machine (~33 GMAC/s) */
export const DEFAULT_MAX_MACS = 3e8;
/** inputs + outputs + weights + intermediates: keeps memory-bound modules to a few ms */
export const DEFAULT_MAX_BYTES = 64 * 2 ** 20;

export interface DeviceOverrides {
  threads?: number[];
  optLevel?: OptLevel[];
  load?: LoadLevel[];
}

export function defaultSpace(m: ModuleDef): Space {
  return {
    params: Object.fromEntries(m.params.map((p) => [p.name, p.default])),
    device: { threads: [1], optLevel: ['all'], load: [{ workers: 0, duty: 0 }] },
    limits: { maxMacs: DEFAULT_MAX_MACS, maxBytes: DEFAULT_MAX_BYTES },
  };
}

export function loadSpaceFile(path: string, m: ModuleDef): Space {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read space file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not valid JSON: ${(e as Error).message}`, path);
  }
  return parseSpace(json, m, path);
}

/** Validates a space object against a module's parameter specs; every error names the field. */
export function parseSpace(json: unknown, m: ModuleDef, source = 'space'): Space {
  const space = defaultSpace(m);
  const obj = asObject(json, source);
  checkKeys(obj, ['params', 'device', 'limits', 'module', 'comment'], source);
  if (obj.module !== undefined && obj.module !== m.name) {
    throw new UserError(`is for module '${String(obj.module)}' but module '${m.name}' was asked for`, `${source}: module`);
  }
  if (obj.params !== undefined) {
    const params = asObject(obj.params, `${source}: params`);
    checkKeys(params, m.params.map((p) => p.name), `${source}: params`, `parameters of module ${m.name}`);
    for (const spec of m.params) {
      const raw = params[spec.name];
      if (raw === undefined) continue;
      const where = `${source}: params.${spec.name}`;
      space.params[spec.name] = spec.kind === 'int' ? parseIntDomain(raw, spec.atLeast ?? 1, where) : parseChoice(raw, spec.allowed!, where);
    }
  }
  if (obj.device !== undefined) {
    const dev = asObject(obj.device, `${source}: device`);
    checkKeys(dev, ['threads', 'optLevel', 'load'], `${source}: device`);
    if (dev.threads !== undefined) space.device.threads = parseIntList(dev.threads, 1, 256, `${source}: device.threads`);
    if (dev.optLevel !== undefined) space.device.optLevel = parseChoice(dev.optLevel, [...OPT_LEVELS], `${source}: device.optLevel`) as OptLevel[];
    if (dev.load !== undefined) space.device.load = parseLoad(dev.load, `${source}: device.load`);
  }
  if (obj.limits !== undefined) {
    const lim = asObject(obj.limits, `${source}: limits`);
    checkKeys(lim, ['maxMacs', 'maxBytes'], `${source}: limits`);
    for (const k of ['maxMacs', 'maxBytes'] as const) {
      const v = lim[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0)) throw new UserError(`must be a number > 0, got ${describe(v)}`, `${source}: limits.${k}`);
      space.limits[k] = v;
    }
  }
  return space;
}

export function applyDeviceOverrides(space: Space, o: DeviceOverrides): Space {
  return {
    ...space,
    device: {
      threads: o.threads ?? space.device.threads,
      optLevel: o.optLevel ?? space.device.optLevel,
      load: o.load ?? space.device.load,
    },
  };
}

/** Parses "1", "1,2,4" or "1-4" given on the command line. */
export function parseIntListArg(s: string, what: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(s.trim());
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (a < 1 || b < a) throw new UserError(`expected a range like 1-4, got '${s}'`, what);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const xs = s.split(',').map((t) => Number(t.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new UserError(`expected positive integers like 1 or 1,2 or 1-4, got '${s}'`, what);
  }
  return xs;
}

/** Parses "0", "1@0.5" or "0,1@0.5,2@1" (workers@duty) given on the command line. */
export function parseLoadArg(s: string): LoadLevel[] {
  return parseLoad(
    s.split(',').map((t) => {
      const [w, d] = t.trim().split('@');
      return { workers: Number(w), duty: d === undefined ? (Number(w) > 0 ? 1 : 0) : Number(d) };
    }),
    '--load',
  );
}

// ---------------------------------------------------------------------------------------------

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`expected an object, got ${describe(v)}`, where);
  return v as Record<string, unknown>;
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string, what = 'keys'): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new UserError(`unknown key '${k}', expected ${what}: ${allowed.join(', ')}`, where);
  }
}

function parseIntDomain(raw: unknown, atLeast: number, where: string): Domain {
  if (Array.isArray(raw)) return parseIntList(raw, atLeast, Number.MAX_SAFE_INTEGER, where);
  const o = asObject(raw, where);
  checkKeys(o, ['min', 'max', 'step', 'log'], where);
  const num = (k: string, d?: number): number => {
    const v = o[k] ?? d;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < atLeast) throw new UserError(`'${k}' must be an integer >= ${atLeast}, got ${describe(o[k])}`, where);
    return v;
  };
  const r: IntRange = { min: num('min'), max: num('max'), step: num('step', 1) };
  if (r.max < r.min) throw new UserError(`'max' (${r.max}) is smaller than 'min' (${r.min})`, where);
  if (o.log !== undefined) {
    if (typeof o.log !== 'boolean') throw new UserError(`'log' must be true or false, got ${describe(o.log)}`, where);
    r.log = o.log;
  }
  return r;
}

function parseIntList(raw: unknown, atLeast: number, atMost: number, where: string): number[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new UserError(`expected a non-empty list or {min,max} range, got ${describe(raw)}`, where);
  for (const v of raw) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < atLeast || v > atMost) {
      throw new UserError(`every value must be an integer in [${atLeast}, ${atMost === Number.MAX_SAFE_INTEGER ? '∞' : atMost}], got ${describe(v)}`, where);
    }
  }
  return raw as number[];
}

function parseChoice(raw: unknown, allowed: ParamValue[], where: string): ParamValue[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new UserError(`expected a non-empty list of ${allowed.join(' | ')}`, where);
  for (const v of raw) {
    if (!allowed.includes(v as ParamValue)) throw new UserError(`value ${describe(v)} is not one of ${allowed.join(', ')}`, where);
  }
  return raw as ParamValue[];
}

function parseLoad(raw: unknown, where: string): LoadLevel[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new UserError('expected a non-empty list of {workers, duty}', where);
  return raw.map((x, i) => {
    const o = asObject(x, `${where}[${i}]`);
    checkKeys(o, ['workers', 'duty'], `${where}[${i}]`);
    const workers = o.workers;
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 0 || workers > 64) {
      throw new UserError(`'workers' must be an integer in [0, 64], got ${describe(workers)}`, `${where}[${i}]`);
    }
    const duty = o.duty ?? (workers > 0 ? 1 : 0);
    if (typeof duty !== 'number' || !(duty >= 0 && duty <= 1) || (workers > 0 && duty === 0)) {
      throw new UserError(`'duty' must be a number in (0, 1] when workers > 0, got ${describe(o.duty)}`, `${where}[${i}]`);
    }
    return { workers, duty: workers === 0 ? 0 : duty };
  });
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 40) + '…' : s;
}

export const domainValues = (d: Domain): ParamValue[] => (isRange(d) ? rangeValues(d) : d);

function rangeValues(r: IntRange): number[] {
  const step = r.step ?? 1;
  const out: number[] = [];
  for (let v = r.min; v <= r.max; v += step) out.push(v);
  return out;
}
