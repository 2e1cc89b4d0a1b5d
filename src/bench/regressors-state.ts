/**
 * Putting bench:regressors' module samples at one machine state. On this shared VM a later run of
 * the same configurations is often 10–30 % faster or slower (reports/regressors.md, column
 * "re-measured / first"), and the speed drifts within a run too, so a test run judged as measured
 * is bounded by that drift, not by the RMs. Every chunk of samples is profiled with the machine
 * probe before it and the module's reference configuration inside it (regressors-data.ts); a
 * sample's latency × (nominal state / state around it) is its latency at the nominal state —
 * what `predict --now` assumes in reverse, when it scales a prediction by the probe timed now.
 *
 * Which signal and how wide a time window: chosen per device setting and module on validation data
 * only (chooseStateMethods) — never on the test or noise-floor runs.
 */
import { smoothedProbes } from '../profile/probe.js';
import type { SampleRow, Store } from '../store/db.js';
import { median } from '../util/stats.js';
import { getModule } from '../modules/index.js';
import { featureSpace, getRegressorKind } from '../regressors/index.js';
import { featureOptionsFor, splitRows } from '../select/autoselect.js';
import { accuracy } from '../select/metrics.js';
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
  /** every candidate: agreement of the re-measured training configurations, and validation ±10 % of quick RMs fitted at that state */
  candidates: Array<{ method: StateMethod; n: number; within5: number; within10: number; val10: number }>;
}

/** the RMs whose validation accuracy judges a state (quick to fit; the best of them counts) */
const JUDGE_KINDS = ['poly2', 'gbt'];

/** validation ±10 % share (best of JUDGE_KINDS) of a module's training run at a machine state — the bench's own 80 / 20 split */
async function validationAt(module: string, device: string, train: SampleRow[]): Promise<number> {
  const fs = featureSpace(getModule(module), featureOptionsFor(device));
  const { train: tr, val } = splitRows(train, 0.2, 1);
  const X = tr.map((r) => fs.encode(r));
  const y = tr.map((r) => r.latency_ms);
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
 * Per module, the method under which its training run is most learnable — the best validation
 * ±10 % of quick RMs fitted on the training split at that state — ties going to the one under
 * which its re-measured training configurations agree best, then to the earlier, simpler one.
 * Validation data only. Per module, because the signals see different things: the probe is a
 * convolution network and misses drift of memory-bound kernels, which the module's own reference
 * configuration sees. Re-measurement agreement alone chose worse (2026-12-04, 1 thread, mbconv:
 * the probe ±5 s by one configuration over the reference of the chunk, validation ±10 % 42 vs 80 %).
 */
export async function chooseStateMethods(
  modules: readonly ModuleRuns[],
  device: string,
  validate: (module: string, device: string, train: SampleRow[]) => Promise<number> = validationAt,
  factors: ReadonlyArray<Map<SampleRow, number>> = STATE_METHODS.map((method) => stateFactors(modules, method)),
): Promise<Map<string, StateChoice>> {
  const out = new Map<string, StateChoice>();
  for (const m of modules) {
    if (!m.runs.train || m.runs.train.length < 20) continue;
    const candidates: StateChoice['candidates'] = [];
    for (const [i, method] of STATE_METHODS.entries()) {
      const { medianRatio: _, ...agree } = m.runs.retrain ? agreement(m.runs.train, m.runs.retrain, factors[i]!) : { n: 0, within5: 0, within10: 0, medianRatio: 0 };
      candidates.push({ method, ...agree, val10: await validate(m.module, device, atState(m.runs.train, factors[i]!)) });
    }
    const key = (c: StateChoice['candidates'][number]) => [c.val10, c.within5 + c.within10];
    let best = candidates[0]!;
    for (const c of candidates) {
      const [a, b] = [key(c), key(best)];
      if (a[0]! > b[0]! + 1e-12 || (Math.abs(a[0]! - b[0]!) <= 1e-12 && a[1]! > b[1]! + 1e-12)) best = c;
    }
    out.set(m.module, { method: best.method, candidates });
  }
  return out;
}

/** re-measured training configurations of every module pooled, each module at its own chosen method */
export function pooledAgreement(choices: Map<string, StateChoice>, pick: (c: StateChoice) => StateChoice['candidates'][number] = (c) => c.candidates.find((k) => k.method === c.method)!) {
  const parts = [...choices.values()].map(pick);
  const n = parts.reduce((s, p) => s + p.n, 0);
  const pooled = (k: 'within5' | 'within10') => (n ? parts.reduce((s, p) => s + p[k] * p.n, 0) / n : 0);
  return { n, within5: pooled('within5'), within10: pooled('within10') };
}

/**
 * Per device setting with data: how each module's samples are put at one machine state
 * (chooseStateMethods), and every module's datasets at that state.
 */
export async function dataAtMachineState(store: Store, modules: readonly string[], log: (s: string) => void = () => undefined) {
  const states = new Map<string, { choices: Map<string, StateChoice> }>();
  const dataOf = new Map<string, SettingData[]>(modules.map((m) => [m, []]));
  for (const s of BENCH_SETTINGS) {
    const runs = modules.map((m) => loadModuleRuns(store, s.id, m));
    if (!runs.some((r) => r.runs.train)) continue;
    const factors = STATE_METHODS.map((method) => stateFactors(runs, method));
    const choices = await chooseStateMethods(runs, s.device, validationAt, factors);
    states.set(s.id, { choices });
    for (const { module, runs: r } of runs) {
      if (!r.train || !r.test || r.train.length < 20) continue;
      const method = choices.get(module)?.method ?? STATE_METHODS[0]!;
      log(`${s.id} ${module}: machine state by ${methodLabel(method)}`);
      const f = factors[STATE_METHODS.indexOf(method)]!;
      dataOf.get(module)!.push({
        s,
        state: method,
        train: atState(r.train, f),
        test: atState(r.test, f),
        ...(r.recheck ? { recheck: atState(r.recheck, f), rawNoise: agreement(r.test, r.recheck, new Map()) } : {}),
      });
    }
  }
  return { states, dataOf };
}
