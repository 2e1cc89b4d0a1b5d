import type { ModuleDef, Params } from '../modules/index.js';
import { isRange, type Domain, type ParamValue } from '../modules/types.js';
import { UserError, isUserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { Sobol, SOBOL_MAX_DIMS } from './sobol.js';
import { domainValues, type OptLevel, type Space } from './space.js';
import type { PlannedConfig } from '../store/records.js';

export type { PlannedConfig };

export const SAMPLERS = ['random', 'lhs', 'sobol', 'grid'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** One sampled dimension: a name and how a unit-interval coordinate maps to a value. */
interface Dim {
  name: string;
  fromUnit(u: number): ParamValue;
  /** the values a grid enumerates */
  gridValues(): ParamValue[];
}

const GRID_POINTS_PER_RANGE = 5;

export interface PlanResult {
  configs: PlannedConfig[];
  /** candidates rejected as impossible (e.g. kernel larger than input) */
  rejected: number;
  /** the first rejection reason, for the user */
  firstRejection?: string;
}

/**
 * Draws `n` distinct, valid configurations from the space. A candidate the module cannot build
 * (impossible shape) is rejected and another drawn; if none at all is valid the error names the
 * offending field.
 */
export function planConfigs(m: ModuleDef, space: Space, sampler: SamplerName, n: number, seed: number): PlanResult {
  if (!SAMPLERS.includes(sampler)) throw new UserError(`unknown sampler '${sampler}', expected one of ${SAMPLERS.join(', ')}`, 'sampler');
  if (!Number.isInteger(n) || n < 1) throw new UserError(`must be an integer >= 1, got ${n}`, 'samples');
  const dims = dimensions(m, space);
  const points = pointStream(sampler, dims, n, seed);
  const seen = new Set<string>();
  const configs: PlannedConfig[] = [];
  let rejected = 0;
  let firstRejection: string | undefined;
  const maxAttempts = sampler === 'grid' ? Infinity : 50 * n + 1000;
  let attempts = 0;
  for (const values of points) {
    if (configs.length >= n || attempts++ >= maxAttempts) break;
    const cfg = toConfig(m, space, values);
    const key = configKey(cfg);
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      const c = m.build(cfg.params, 1, false).cost;
      if (c.macs > space.limits.maxMacs) throw new UserError(`${c.macs.toExponential(2)} MACs exceed the limit ${space.limits.maxMacs.toExponential(2)}`, 'limits.maxMacs');
      const bytes = c.inputBytes + c.weightBytes + c.activationBytes;
      if (bytes > space.limits.maxBytes) throw new UserError(`${bytes.toExponential(2)} bytes exceed the limit ${space.limits.maxBytes.toExponential(2)}`, 'limits.maxBytes');
    } catch (e) {
      if (!isUserError(e)) throw e;
      rejected++;
      firstRejection ??= e.message;
      continue;
    }
    configs.push(cfg);
  }
  if (configs.length === 0) {
    throw new UserError(`no valid configuration in the space: ${firstRejection ?? 'the space is empty'}`, `module ${m.name}`);
  }
  return { configs, rejected, firstRejection };
}

export function configKey(c: PlannedConfig): string {
  return JSON.stringify([c.params, c.device]);
}

function dimensions(m: ModuleDef, space: Space): Dim[] {
  const dims: Dim[] = m.params.map((p) => domainDim(p.name, space.params[p.name]!));
  dims.push(listDim('threads', space.device.threads));
  dims.push(listDim('optLevel', space.device.optLevel));
  dims.push(listDim('load', space.device.load.map((_, i) => i)));
  return dims;
}

/** values are ordered as `dimensions` made them: module params, then threads, optLevel, load index */
function toConfig(m: ModuleDef, space: Space, values: ParamValue[]): PlannedConfig {
  const params: Params = {};
  m.params.forEach((p, i) => (params[p.name] = values[i]!));
  const k = m.params.length;
  const load = space.device.load[values[k + 2] as number]!;
  return {
    params,
    device: { threads: values[k] as number, optLevel: values[k + 1] as OptLevel, loadWorkers: load.workers, loadDuty: load.duty },
  };
}

function listDim(name: string, values: ParamValue[]): Dim {
  return {
    name,
    fromUnit: (u) => values[Math.min(values.length - 1, Math.floor(u * values.length))]!,
    gridValues: () => [...new Set(values)],
  };
}

function domainDim(name: string, d: Domain): Dim {
  if (!isRange(d)) return listDim(name, d);
  const step = d.step ?? 1;
  const count = Math.floor((d.max - d.min) / step) + 1;
  const snap = (v: number) => d.min + step * Math.min(count - 1, Math.max(0, Math.round((v - d.min) / step)));
  return {
    name,
    fromUnit: (u) => {
      if (!d.log || d.min === d.max) return d.min + step * Math.min(count - 1, Math.floor(u * count));
      // log-uniform over [min, max + step) then snapped down to the step grid
      const lo = Math.log(d.min);
      const hi = Math.log(d.max + step);
      const v = Math.exp(lo + u * (hi - lo));
      return d.min + step * Math.min(count - 1, Math.floor((v - d.min) / step));
    },
    gridValues: () => {
      if (count <= GRID_POINTS_PER_RANGE) return domainValues(d);
      const vs = Array.from({ length: GRID_POINTS_PER_RANGE }, (_, i) => {
        const t = i / (GRID_POINTS_PER_RANGE - 1);
        return snap(d.log ? Math.exp(Math.log(d.min) + t * (Math.log(d.max) - Math.log(d.min))) : d.min + t * (d.max - d.min));
      });
      return [...new Set(vs)];
    },
  };
}

/** Yields value vectors: an endless stream for random/lhs/sobol, the shuffled full grid for grid. */
function* pointStream(sampler: SamplerName, dims: Dim[], n: number, seed: number): Generator<ParamValue[]> {
  const rng = new Rng(seed);
  const map = (u: number[]) => u.map((x, i) => dims[i]!.fromUnit(x));
  if (sampler === 'random') {
    for (;;) yield map(dims.map(() => rng.next()));
  }
  if (sampler === 'lhs') {
    // Latin hypercube in blocks of n: each block stratifies every dimension into n slices
    for (;;) {
      const perms = dims.map(() => rng.shuffle([...Array(n).keys()]));
      for (let i = 0; i < n; i++) yield map(perms.map((p) => (p[i]! + rng.next()) / n));
    }
  }
  if (sampler === 'sobol') {
    if (dims.length > SOBOL_MAX_DIMS) throw new UserError(`sobol supports ${SOBOL_MAX_DIMS} dimensions, this space has ${dims.length}`, 'sampler');
    const sobol = new Sobol(dims.length, dims.map(() => Math.floor(rng.next() * 2 ** 30)));
    for (;;) yield map(sobol.next());
  }
  // grid: every combination, visited in a seeded random order so a truncated grid is unbiased
  const axes = dims.map((d) => d.gridValues());
  const total = axes.reduce((a, x) => a * x.length, 1);
  if (total > 5_000_000) throw new UserError(`grid has ${total} points; give shorter lists or use another sampler`, 'sampler');
  const order = rng.shuffle([...Array(total).keys()]);
  for (const flat of order) {
    let r = flat;
    yield axes.map((vs) => {
      const v = vs[r % vs.length]!;
      r = Math.floor(r / vs.length);
      return v;
    });
  }
}
