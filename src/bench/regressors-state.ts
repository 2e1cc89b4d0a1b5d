/**
 * bench:regressors' samples at one machine state (src/select/machine-state.ts has the method):
 * every chunk is profiled with the machine probe before it and the module's reference
 * configuration inside it (regressors-data.ts), and the bench re-measures the first training
 * configurations in a later run (`retrain-*`), so a method is judged on two validation signals:
 * how learnable the training run is at that state, and how well the re-measurements agree.
 *
 * Which signal and how wide a time window: chosen per device setting and module on validation data
 * only (chooseStateMethods) — never on the test or noise-floor runs.
 */
import type { SampleRow, Store } from '../store/db.js';
import { agreement, atState, bestState, methodLabel, STATE_METHODS, stateFactors, validationAt, type StateGroup, type StateMethod } from '../select/machine-state.js';
import { BENCH_SETTINGS, datasetName, type BenchSetting } from './regressors-data.js';
import type { SettingData } from './regressors-study.js';

const ROLES = ['train', 'more', 'test', 'recheck', 'retrain'] as const;

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

/** every run of each module, its training run's state nominal (stateFactors' groups) */
export const stateGroups = (modules: readonly ModuleRuns[]): StateGroup[] => modules.map((m) => ({ rows: Object.values(m.runs).flat(), nominal: m.runs.train ?? [] }));

export interface StateChoice {
  method: StateMethod;
  /** every candidate: agreement of the re-measured training configurations, and validation ±10 % of quick RMs fitted at that state */
  candidates: Array<{ method: StateMethod; n: number; within5: number; within10: number; val10: number }>;
}

/**
 * Per module, the method under which quick RMs fitted on the training split at that state best
 * predict unseen configurations — the validation split, and the re-measurements of validation
 * configurations from the later `retrain` run (so learnability inside the run and agreement across
 * runs both count) — ties going to the one under which all re-measured training configurations
 * agree best, then to the earlier, simpler one; a module without re-measurements keeps its timings
 * as measured. Validation data only. Per module, because the
 * signals see different things: the probe is a convolution network and misses drift of
 * memory-bound kernels, which the module's own reference configuration sees. Agreement alone chose
 * worse (2026-12-04, 1 thread, mbconv: validation ±10 % 42 vs 80 %), learnability alone left a
 * run's offset in (layernorm; reports/regressors-history.md).
 */
export async function chooseStateMethods(
  modules: readonly ModuleRuns[],
  device: string,
  validate: (module: string, device: string, train: SampleRow[], remeasured: SampleRow[]) => Promise<number> = (m, d, t, r) => validationAt(m, d, t, {}, r),
  factors: ReadonlyArray<Map<SampleRow, number>> = STATE_METHODS.map((method) => stateFactors(stateGroups(modules), method)),
): Promise<Map<string, StateChoice>> {
  const out = new Map<string, StateChoice>();
  for (const m of modules) {
    if (!m.runs.train || m.runs.train.length < 20) continue;
    const candidates: StateChoice['candidates'] = [];
    for (const [i, method] of STATE_METHODS.entries()) {
      // without re-measurements nothing checks a signal across runs, and within one run a signal
      // can look right while its level differs from run to run (the wasm probe timed 3.4× slower in
      // one process than in another, session 56): the timings stay as measured
      if (!m.runs.retrain && method.source !== 'raw') continue;
      const { medianRatio: _, ...agree } = m.runs.retrain ? agreement(m.runs.train, m.runs.retrain, factors[i]!) : { n: 0, within5: 0, within10: 0, medianRatio: 0 };
      candidates.push({ method, ...agree, val10: await validate(m.module, device, atState(m.runs.train, factors[i]!), atState(m.runs.retrain ?? [], factors[i]!)) });
    }
    const best = bestState(candidates.map((c) => ({ ...c, tie: c.within5 + c.within10 })));
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
 * One module's runs of a device setting put at one machine state (`factors`: stateFactors of
 * `method`); undefined without a training run of 20 samples and a test run. The second training
 * run joins the first, less the configurations the first run or the test run has: each
 * configuration counts once, and never in both training and test.
 */
export function settingDataAt(s: BenchSetting, r: ModuleRuns['runs'], method: StateMethod, factors: Map<SampleRow, number>): SettingData | undefined {
  if (!r.train || !r.test || r.train.length < 20) return undefined;
  const seen = new Set([...r.train, ...r.test].map((x) => x.params_json));
  const more = atState(r.more ?? [], factors).filter((x) => !seen.has(x.params_json));
  return {
    s,
    state: method,
    train: [...atState(r.train, factors), ...more],
    ...(more.length ? { firstRunRows: r.train.length } : {}),
    test: atState(r.test, factors),
    ...(r.recheck ? { recheck: atState(r.recheck, factors), rawNoise: agreement(r.test, r.recheck, new Map()) } : {}),
  };
}

/**
 * Per device setting with data: how each module's samples are put at one machine state
 * (chooseStateMethods), and every module's datasets at that state.
 */
export async function dataAtMachineState(
  store: Store,
  modules: readonly string[],
  log: (s: string) => void = () => undefined,
  settings: readonly string[] = BENCH_SETTINGS.map((s) => s.id),
  /** one method for every module instead of each module's choice (studies comparing features: the choice depends on them) */
  fixed?: StateMethod,
) {
  const fixedAt = fixed && STATE_METHODS.findIndex((m) => m.source === fixed.source && m.windowS === fixed.windowS);
  if (fixedAt === -1) throw new Error(`machine state ${methodLabel(fixed!)} is not one of the candidates (${STATE_METHODS.map(methodLabel).join(', ')})`);
  const states = new Map<string, { choices: Map<string, StateChoice> }>();
  const dataOf = new Map<string, SettingData[]>(modules.map((m) => [m, []]));
  for (const s of BENCH_SETTINGS.filter((x) => settings.includes(x.id))) {
    const runs = modules.map((m) => loadModuleRuns(store, s.id, m));
    if (!runs.some((r) => r.runs.train)) continue;
    const factors = STATE_METHODS.map((method) => stateFactors(stateGroups(runs), method));
    const choices = fixedAt === undefined ? await chooseStateMethods(runs, s.device, undefined, factors) : new Map<string, StateChoice>();
    states.set(s.id, { choices });
    for (const { module, runs: r } of runs) {
      const method = fixedAt === undefined ? choices.get(module)?.method ?? STATE_METHODS[0]! : STATE_METHODS[fixedAt]!;
      const data = settingDataAt(s, r, method, factors[STATE_METHODS.indexOf(method)]!);
      if (!data) continue;
      log(`${s.id} ${module}: machine state by ${methodLabel(method)}`);
      dataOf.get(module)!.push(data);
    }
  }
  return { states, dataOf };
}
