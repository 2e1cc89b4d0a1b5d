/**
 * Putting module samples at one machine state. On a shared host a later run of the same
 * configurations is often 10–30 % faster or slower, and the speed drifts within a run too
 * (reports/regressors.md, "re-measured / first"), so RMs trained on raw timings learn the drift as
 * noise. A sample profiled with `--probe` carries the machine probe timed before its chunk, one
 * profiled with `--reference` the module's reference configuration timed inside its chunk; its
 * latency × (nominal state / state around it) is its latency at the nominal state — what
 * `predict --now` assumes in reverse.
 *
 * Which signal and how wide a time window is chosen per module on validation data: the method under
 * which quick RMs fitted on the training split predict the validation split best (`train` and
 * bench:regressors both use chooseStateMethod).
 */
import { getModule } from '../modules/index.js';
import { smoothedProbes } from '../profile/probe.js';
import { featureSpace, getRegressorKind } from '../regressors/index.js';
import type { SampleRow } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { accuracy } from './metrics.js';
import { featureOptionsFor, splitRows } from './split.js';

export interface StateMethod {
  /** raw: as measured; probe: the machine probe before each chunk; reference: the module's reference configuration timed in each chunk */
  source: 'raw' | 'probe' | 'reference';
  /** half-width (s) of the window whose median is the state (0: the chunk's own value) */
  windowS: number;
}

const WINDOWS_S = [0, 5, 10, 20, 60, 300];
/** the candidates in order of preference on a tie: as measured first, narrower windows first */
export const STATE_METHODS: readonly StateMethod[] = [
  { source: 'raw', windowS: 0 },
  ...(['probe', 'reference'] as const).flatMap((source) => WINDOWS_S.map((windowS) => ({ source, windowS }))),
];

export const methodLabel = (m: StateMethod) => (m.source === 'raw' ? 'as measured' : `${m.source}, ±${m.windowS} s`);

const signalOf = (source: StateMethod['source'], r: SampleRow) => (source === 'probe' ? r.probe_ms : source === 'reference' ? r.ref_ms : null);

/** 'auto' (undefined: choose on validation), 'raw', 'probe[:W]' or 'reference[:W]' (W seconds, default 0) — `train --machine-state` */
export function parseStateMethod(s: string, field = '--machine-state'): StateMethod | undefined {
  const m = /^(auto|raw|probe|reference)(?::(\d+(?:\.\d+)?))?$/.exec(s.trim());
  if (!m || (m[2] !== undefined && (m[1] === 'auto' || m[1] === 'raw'))) throw new UserError(`expected auto, raw, probe[:seconds] or reference[:seconds], got '${s}'`, field);
  if (m[1] === 'auto') return undefined;
  return { source: m[1] as StateMethod['source'], windowS: m[2] === undefined ? 0 : Number(m[2]) };
}

/** the methods whose signal every row carries (raw always) */
export function methodsFor(rows: readonly SampleRow[]): StateMethod[] {
  return STATE_METHODS.filter((m) => m.source === 'raw' || (rows.length > 0 && rows.every((r) => (signalOf(m.source, r) ?? 0) > 0)));
}

/** one module's samples: every run of it, and the run whose median state is the nominal one (its training run) */
export interface StateGroup {
  rows: readonly SampleRow[];
  nominal: readonly SampleRow[];
}

const atMs = (r: SampleRow) => Date.parse(r.measured_at);

/** per row, the median of the method's signal within ±windowS of it (undefined where the row has none) */
const smoothedSignal = (rows: readonly SampleRow[], method: StateMethod) =>
  smoothedProbes(rows.map((r) => ({ atMs: atMs(r), probeMs: signalOf(method.source, r) ?? undefined })), method.windowS);

const positiveMedian = (xs: ReadonlyArray<number | undefined>) => median(xs.filter((x): x is number => x !== undefined && x > 0));

/**
 * Per row (by object identity), the factor that puts its latency at the nominal state: nominal /
 * smoothed state. The probe is module-independent and slides over every group's rows; the
 * reference is the module's own, and slides over its group. Nominal = the median state of the
 * group's nominal rows (pooled over the groups for the probe). Rows without the signal keep factor 1.
 */
export function stateFactors(groups: readonly StateGroup[], method: StateMethod): Map<SampleRow, number> {
  const out = new Map<SampleRow, number>();
  if (method.source === 'raw') return out;
  const apply = (rows: readonly SampleRow[], nominalOf: readonly SampleRow[]) => {
    const s = smoothedSignal(rows, method);
    const states = new Map(rows.map((r, i) => [r, s[i]]));
    const nominal = positiveMedian(nominalOf.map((r) => states.get(r)));
    if (!(nominal > 0)) return;
    for (const [r, st] of states) if (st !== undefined && st > 0) out.set(r, nominal / st);
  };
  if (method.source === 'probe') apply(groups.flatMap((g) => g.rows), groups.flatMap((g) => g.nominal));
  else for (const g of groups) apply(g.rows, g.nominal);
  return out;
}

/** a copy of the rows with latency and p90 put at the nominal state */
export function atState(rows: readonly SampleRow[], factors: Map<SampleRow, number>): SampleRow[] {
  return rows.map((r) => {
    const f = factors.get(r) ?? 1;
    return f === 1 ? r : { ...r, latency_ms: r.latency_ms * f, p90_ms: r.p90_ms * f };
  });
}

/** re-measurements against first measurements of the same configurations (after `factors`) */
export function agreement(first: readonly SampleRow[], again: readonly SampleRow[], factors: Map<SampleRow, number>) {
  const byParams = new Map(first.map((r) => [r.params_json, r.latency_ms * (factors.get(r) ?? 1)]));
  const ratios = again.filter((r) => byParams.has(r.params_json)).map((r) => (r.latency_ms * (factors.get(r) ?? 1)) / byParams.get(r.params_json)!);
  const share = (t: number) => (ratios.length ? ratios.filter((x) => Math.abs(x - 1) <= t).length / ratios.length : 0);
  return { n: ratios.length, within5: share(0.05), within10: share(0.1), medianRatio: ratios.length ? median(ratios) : NaN };
}

/** the nominal state of a method over rows (median of the smoothed signal; undefined for raw) */
export function nominalState(rows: readonly SampleRow[], method: StateMethod): number | undefined {
  if (method.source === 'raw') return undefined;
  const v = positiveMedian(smoothedSignal(rows, method));
  return v > 0 ? v : undefined;
}

/** the RMs whose validation accuracy judges a state (quick to fit; the best of them counts) */
const JUDGE_KINDS = ['poly2', 'gbt'];

/**
 * Validation ±10 % share (best of the judges) of a module's rows at a machine state, on the train /
 * validation split `train` uses. `remeasured`: the same configurations measured again in a later
 * run (at the same state); those of validation configurations are judged too, so a state under
 * which a run's offset survives scores lower — what a test run in another hour would see.
 */
export async function validationAt(module: string, device: string, rows: SampleRow[], split: { valFraction?: number; seed?: number } = {}, remeasured: readonly SampleRow[] = []): Promise<number> {
  const fs = featureSpace(getModule(module), featureOptionsFor(device));
  const { train, val: own } = splitRows(rows, split.valFraction ?? 0.2, split.seed ?? 1);
  const valConfigs = new Set(own.map((r) => r.params_json));
  const val = [...own, ...remeasured.filter((r) => valConfigs.has(r.params_json))];
  const X = train.map((r) => fs.encode(r));
  const y = train.map((r) => r.latency_ms);
  const Xv = val.map((r) => fs.encode(r));
  const yv = val.map((r) => r.latency_ms);
  let best = 0;
  for (const k of JUDGE_KINDS) {
    const m = getRegressorKind(k).create(1);
    await m.fit(X, y);
    best = Math.max(best, accuracy(m.predict(Xv), yv).within10);
  }
  return best;
}

/**
 * The best of scored methods: highest validation ±10 %, ties to the higher `tie` score (bench:
 * re-measurement agreement), then to the earlier, simpler method. Candidates in STATE_METHODS order.
 */
export function bestState<C extends { method: StateMethod; val10: number; tie?: number }>(candidates: readonly C[]): C {
  let best = candidates[0]!;
  for (const c of candidates) {
    if (c.val10 > best.val10 + 1e-12 || (Math.abs(c.val10 - best.val10) <= 1e-12 && (c.tie ?? 0) > (best.tie ?? 0) + 1e-12)) best = c;
  }
  return best;
}

/**
 * `train`'s choice for one dataset: every method its rows carry a signal for, scored by
 * validationAt on the same split the zoo is trained on (`only`: that method, no choice). Raw
 * timings alone: no choice to make.
 */
export async function chooseStateMethod(
  module: string,
  device: string,
  rows: SampleRow[],
  opts: { valFraction?: number; seed?: number; only?: StateMethod } = {},
): Promise<{ method: StateMethod; rows: SampleRow[]; nominal?: number; candidates: Array<{ method: StateMethod; val10: number }> }> {
  const group = [{ rows, nominal: rows }];
  if (opts.only) {
    const m = opts.only;
    if (!methodsFor(rows).some((x) => x.source === m.source)) throw new UserError(`the samples carry no ${m.source} timing (profile with --${m.source})`, 'machine state');
    const nominal = nominalState(rows, m);
    return { method: m, rows: atState(rows, stateFactors(group, m)), ...(nominal ? { nominal } : {}), candidates: [] };
  }
  const methods = methodsFor(rows);
  if (methods.length === 1) return { method: methods[0]!, rows, candidates: [] };
  const candidates: Array<{ method: StateMethod; val10: number; rows: SampleRow[] }> = [];
  for (const method of methods) {
    const at = atState(rows, stateFactors(group, method));
    candidates.push({ method, val10: await validationAt(module, device, at, opts), rows: at });
  }
  const best = bestState(candidates);
  const nominal = nominalState(rows, best.method);
  return { method: best.method, rows: best.rows, ...(nominal ? { nominal } : {}), candidates: candidates.map(({ method, val10 }) => ({ method, val10 })) };
}
