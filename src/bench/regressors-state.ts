/**
 * Putting bench:regressors' module samples at one machine state. On this shared VM a later run of
 * the same configurations is often 10–30 % faster or slower (reports/regressors.md, column
 * "re-measured / first"), and the speed drifts within a run too, so a test run judged as measured
 * is bounded by that drift, not by the RMs. Every chunk of samples is profiled with the machine
 * probe before it and the module's reference configuration inside it (regressors-data.ts); a
 * sample's latency × (nominal state / state around it) is its latency at the nominal state —
 * what `predict --now` assumes in reverse, when it scales a prediction by the probe timed now.
 *
 * Which signal and how wide a time window: chosen per device setting on validation data only —
 * how well the re-measured *training* configurations (`retrain-*`, a later run) agree with their
 * first measurement — never on the test or noise-floor runs.
 */
import { smoothedProbes } from '../profile/probe.js';
import type { SampleRow, Store } from '../store/db.js';
import { median } from '../util/stats.js';
import { BENCH_SETTINGS, datasetName } from './regressors-data.js';
import type { SettingData } from './regressors-study.js';

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

const ROLES = ['train', 'test', 'recheck', 'retrain'] as const;

/** one module's datasets of a device setting, by role */
export interface ModuleRuns {
  module: string;
  runs: Partial<Record<(typeof ROLES)[number], SampleRow[]>>;
}

/** the stored datasets of a module on a device setting (absent or empty ones left out) */
export function loadModuleRuns(store: Store, setting: string, module: string): ModuleRuns {
  const runs: ModuleRuns['runs'] = {};
  for (const role of ROLES) {
    const ds = store.getDataset(datasetName(role, setting, module));
    const rows = ds ? store.samples(ds.id) : [];
    if (rows.length) runs[role] = rows;
  }
  return { module, runs };
}

const atMs = (r: SampleRow) => Date.parse(r.measured_at);

/**
 * Per row (by object identity), the factor that puts its latency at the nominal state: nominal /
 * smoothed state. The probe is module-independent and slides over every run of the setting; the
 * reference is the module's own, and slides over that module's runs. Nominal = the median state
 * of the training run (per module for the reference). Rows without the signal keep factor 1.
 */
export function stateFactors(modules: readonly ModuleRuns[], method: StateMethod): Map<SampleRow, number> {
  const out = new Map<SampleRow, number>();
  if (method.source === 'raw') return out;
  const signal = (r: SampleRow) => (method.source === 'probe' ? r.probe_ms : r.ref_ms) ?? undefined;
  const smooth = (rows: SampleRow[]) => {
    const s = smoothedProbes(rows.map((r) => ({ atMs: atMs(r), probeMs: signal(r) })), method.windowS);
    return new Map(rows.map((r, i) => [r, s[i]]));
  };
  const apply = (rows: SampleRow[], nominalOf: SampleRow[]) => {
    const states = smooth(rows);
    const nominal = median(nominalOf.map((r) => states.get(r)).filter((x): x is number => x !== undefined && x > 0));
    if (!(nominal > 0)) return;
    for (const [r, st] of states) if (st !== undefined && st > 0) out.set(r, nominal / st);
  };
  const all = (m: ModuleRuns) => Object.values(m.runs).flat();
  if (method.source === 'probe') apply(modules.flatMap(all), modules.flatMap((m) => m.runs.train ?? []));
  else for (const m of modules) apply(all(m), m.runs.train ?? []);
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

export interface StateChoice {
  method: StateMethod;
  /** every candidate's agreement of the re-measured training configurations, pooled over modules */
  candidates: Array<{ method: StateMethod; n: number; within5: number; within10: number }>;
}

/**
 * The method under which the re-measured training configurations agree best with their first
 * measurement (most within ±5 %, then ±10 %; ties go to the earlier, simpler candidate).
 */
export function chooseStateMethod(modules: readonly ModuleRuns[]): StateChoice {
  const candidates = STATE_METHODS.map((method) => {
    const f = stateFactors(modules, method);
    const parts = modules.filter((m) => m.runs.train && m.runs.retrain).map((m) => agreement(m.runs.train!, m.runs.retrain!, f));
    const n = parts.reduce((s, p) => s + p.n, 0);
    const pooled = (k: 'within5' | 'within10') => (n ? parts.reduce((s, p) => s + p[k] * p.n, 0) / n : 0);
    return { method, n, within5: pooled('within5'), within10: pooled('within10') };
  });
  let best = candidates[0]!;
  for (const c of candidates) {
    if (c.within5 > best.within5 + 1e-12 || (Math.abs(c.within5 - best.within5) <= 1e-12 && c.within10 > best.within10 + 1e-12)) best = c;
  }
  return { method: best.method, candidates };
}

/**
 * Per device setting with data: how its samples are put at one machine state (chosen on the
 * re-measured training configurations), and every module's datasets at that state.
 */
export function dataAtMachineState(store: Store, modules: readonly string[], log: (s: string) => void = () => undefined) {
  const states = new Map<string, StateChoice>();
  const dataOf = new Map<string, SettingData[]>(modules.map((m) => [m, []]));
  for (const s of BENCH_SETTINGS) {
    const runs = modules.map((m) => loadModuleRuns(store, s.id, m));
    if (!runs.some((r) => r.runs.train)) continue;
    const choice = chooseStateMethod(runs);
    states.set(s.id, choice);
    log(`${s.id}: machine state by ${methodLabel(choice.method)}`);
    const f = stateFactors(runs, choice.method);
    for (const { module, runs: r } of runs) {
      if (!r.train || !r.test || r.train.length < 20) continue;
      dataOf.get(module)!.push({
        s,
        train: atState(r.train, f),
        test: atState(r.test, f),
        ...(r.recheck ? { recheck: atState(r.recheck, f), rawNoise: agreement(r.test, r.recheck, new Map()) } : {}),
      });
    }
  }
  return { states, dataOf };
}
