import { FAMILIES, generatedCost, generateModel, modelBytes, modelName } from '../modelgen/index.js';
import { MachineProbe, smoothedProbes } from '../profile/probe.js';
import { environmentOf } from '../profile/profiler.js';
import { measureModel, profileNodes, type NodeTime } from '../profile/model-timing.js';
import { getRuntime } from '../runtimes/index.js';
import type { ModelRun, NodeProfile, Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { median } from '../util/stats.js';
import { atNominal, canFitCalibration, fitCalibration, saveCalibration, type Calibration, type CalibrationVariant } from './calibration.js';
import { modelFromBytes, type ModelFile } from './model-file.js';
import { attributeToMeasured, estimateProfilerCost, fitInGraph, inGraphPairs, type InGraphMethod, type InGraphModel } from './ingraph.js';
import { saveInGraph, settingKey, WholeModelPredictor, type WholeModelSetting } from './predictor.js';

/** A model to measure, built only when it is measured (generation takes ~0.1 s per model). */
export interface LazyModel {
  name: string;
  family: string;
  load(): ModelFile;
}

/** `perFamily` generated networks of every family, seeds first..first+perFamily-1 */
export function generatedModels(first: number, perFamily: number): LazyModel[] {
  const out: LazyModel[] = [];
  for (let seed = first; seed < first + perFamily; seed++) {
    for (const f of FAMILIES) {
      out.push({
        name: modelName(f, seed),
        family: f.name,
        load: () => {
          const g = generateModel(f.name, seed);
          return modelFromBytes(modelBytes(g), g.name);
        },
      });
    }
  }
  return out;
}

/**
 * Cross-validation folds stratified by family: each fold holds every family's networks in turn
 * (the k-th network of a family goes to fold k mod folds), as the test networks come from the
 * families the calibration saw. Folds by position in the seed-major list instead held out whole
 * families in pairs (100 networks of 10 families, 5 folds), judging every design on families it
 * had never seen.
 */
export function familyFolds(items: ReadonlyArray<{ name: string; family: string }>, folds: number): Map<string, number> {
  const seen = new Map<string, number>();
  return new Map(items.map((e) => {
    const k = seen.get(e.family) ?? 0;
    seen.set(e.family, k + 1);
    return [e.name, k % folds];
  }));
}

/** seeds of the calibration networks: disjoint from bench:models' test (1–30) and validation (2001+) sets */
export const CALIBRATION_FIRST_SEED = 1001;

/** the calibration networks are drawn from this many seeds a family (CALIBRATION_FIRST_SEED on) */
export const CALIBRATION_POOL = 100;

/**
 * `perFamily` networks of every family, drawn from seeds first..first+pool-1 so that they span the
 * family's range of size: the pool sorted by FLOPs, the network in the middle of each of `perFamily`
 * equal strata (systematic sampling — as representative of the generator as a random draw, but it
 * cannot miss either end). Why: with seeds 1001–1030 taken as they came, 28 % of the generator's
 * U-Nets were smaller than the smallest calibration U-Net (`scripts/models-coverage.mjs`, session 42),
 * and the fit priced ConvTranspose at a fixed cost those small networks could not carry.
 * Seed-major order, as generatedModels.
 */
export function sizeStratifiedModels(first: number, pool: number, perFamily: number): LazyModel[] {
  if (!(Number.isInteger(perFamily) && perFamily >= 1 && perFamily <= pool)) throw new UserError(`networks per family must be an integer from 1 to ${pool} (the seeds they are drawn from), got ${perFamily}`, '--per-family');
  const chosen = new Set<string>();
  for (const f of FAMILIES) {
    const bySize = Array.from({ length: pool }, (_, i) => ({ seed: first + i, flops: generatedCost(f.name, first + i).flops })).sort((a, b) => a.flops - b.flops || a.seed - b.seed);
    for (let k = 0; k < perFamily; k++) chosen.add(modelName(f, bySize[Math.floor(((k + 0.5) * pool) / perFamily)]!.seed));
  }
  return generatedModels(first, pool).filter((m) => chosen.has(m.name));
}

/** the networks `calibrate` and bench:models calibrate on (see sizeStratifiedModels) */
export const calibrationModels = (perFamily: number) => sizeStratifiedModels(CALIBRATION_FIRST_SEED, CALIBRATION_POOL, perFamily);

/** timed runs of each machine probe between a measurement's rounds (six such probes per measurement; the one before it takes 9) */
export const ROUND_PROBE_RUNS = 5;

/**
 * Measures the networks of one or more collections that the store does not have yet (resumable) as
 * one shuffled list, so that a slow phase of the machine does not hit one family, and calibration,
 * validation and test networks see the same mix of machine states (measured one collection after
 * another, a drift between them became a bias between what the calibration was fitted on and what
 * it is judged on). With `passes` > 1 the list is measured that many times, each pass in its own
 * order, and a network's latency is the median of its passes (medianRuns, MEASUREMENT_PASSES).
 */
export async function measureCollectionsInto(store: Store, setting: WholeModelSetting, parts: ReadonlyArray<{ collection: string; models: readonly LazyModel[] }>, o: Progress & { passes?: number } = {}): Promise<boolean> {
  const key = settingKey(setting);
  const passes = o.passes ?? 1;
  let doneBefore = 0;
  const todo: Array<LazyModel & { collection: string; pass: number }> = [];
  // (model, pass) already stored, per collection
  const done = parts.map(({ collection }) => new Set(store.modelRuns(collection, key).map((r) => `${r.model}#${r.pass ?? 0}`)));
  for (let pass = 0; pass < passes; pass++) {
    const missing: Array<LazyModel & { collection: string; pass: number }> = [];
    parts.forEach(({ collection, models }, i) => {
      for (const m of models) {
        if (done[i]!.has(`${m.name}#${pass}`)) doneBefore++;
        else missing.push({ ...m, collection, pass });
      }
    });
    const seed = parts.reduce((a, p) => a + p.collection.length * 31, 0) + setting.threads + 7919 * pass;
    todo.push(...new Rng(seed).shuffle(missing));
  }
  const rt = getRuntime(setting.device);
  const envId = store.environmentId(await environmentOf(rt));
  const probe = await MachineProbe.open(rt, setting.threads);
  try {
    return await eachMissing(todo, doneBefore, o, async (m, mf) => {
      const probeMs = await probe.time();
      const r = await measureModel(mf.bytes, mf.inputs, setting.device, setting.threads, {}, () => probe.time(ROUND_PROBE_RUNS));
      store.saveModelRun({ collection: m.collection, model: m.name, deviceKey: key, createMs: r.createMs, latencyMs: r.stats.latencyMs, stats: { ...r.stats, wallMs: r.wallMs }, probeMs, pass: m.pass }, envId);
    });
  } finally {
    await probe.close();
  }
}

/** a model's latency over its measurement passes */
export interface MeasuredModel {
  /** median over the passes of latency at the nominal machine state (atNominal) */
  measuredMs: number;
  /** median of the raw latencies */
  rawMs: number;
  createMs: number;
  /** median of the whole measurements (session creation, warm-up, timed rounds), when recorded */
  wallMs?: number;
  passes: number;
}

/** per model, the median of its measurement passes, each put at the nominal machine state first */
export function medianRuns(runs: readonly ModelRun[], nominalProbeMs: number | undefined): Map<string, MeasuredModel> {
  const byModel = new Map<string, ModelRun[]>();
  for (const r of runs) {
    const rs = byModel.get(r.model);
    if (rs) rs.push(r);
    else byModel.set(r.model, [r]);
  }
  const out = new Map<string, MeasuredModel>();
  for (const [model, rs] of byModel) {
    const walls = rs.flatMap((r) => {
      const w = (r.stats as { wallMs?: unknown } | null)?.wallMs;
      return typeof w === 'number' ? [w] : [];
    });
    out.set(model, {
      measuredMs: median(rs.map((r) => atNominal(r.latencyMs, r.probeMs, nominalProbeMs))),
      rawMs: median(rs.map((r) => r.latencyMs)),
      createMs: median(rs.map((r) => r.createMs)),
      ...(walls.length ? { wallMs: median(walls) } : {}),
      passes: rs.length,
    });
  }
  return out;
}

/**
 * The 'window' that reads a measurement's machine state from the probes timed around its rounds
 * (measureModel's probeRound): the lower of the two probes just before and just after its quietest
 * round, whose median is the latency. A measurement of a network that runs for seconds spans
 * several machine states (on the 2-vCPU VM the wasm probe flips between ~13 and ~21 ms within
 * seconds), and its quietest round is taken in the fastest of them, which the probe timed before
 * the whole measurement need not see; interference only adds time, to a probe as to a round, so
 * the lower of the two is the state the round ran in. On bench:models' calibration and validation
 * networks (session 39, Intel VM), passes agreed within ±5 % in 86.8 / 83.3 % of cases read this
 * way on ort-wasm / ort-cpu 1 thread against 69.4 / 74.9 % by the probe before each measurement,
 * but 58.2 against 60.6 % on 2 threads (scripts/round-probe-eval.mjs; reports/models-history.md):
 * chooseProbeWindow decides per setting. Runs measured without round probes keep their own probe.
 */
export const PER_ROUND = -1;

/**
 * Half-widths (seconds) of the probe window tried by chooseProbeWindow; Infinity is one machine
 * state for the whole series (the raw timings, up to a constant); PER_ROUND reads each
 * measurement's own rounds.
 */
export const PROBE_WINDOWS_S = [0, 5, 10, 20, 30, 60, 120, 300, Infinity, PER_ROUND] as const;

/** how a probe window reads each measurement's machine state, for reports */
export const probeWindowName = (windowS: number) =>
  windowS === PER_ROUND ? 'the lower of the probes around its quietest round' : windowS === 0 ? 'its own probe' : Number.isFinite(windowS) ? `the median probe within ±${windowS} s` : 'one for the whole run (raw timings)';

/** the machine state of a measurement's quietest round (PER_ROUND), from its stats; undefined without round probes */
export function quietestRoundProbe(stats: unknown): number | undefined {
  const s = stats as { roundMediansMs?: unknown; roundProbesMs?: unknown } | null | undefined;
  const m = s?.roundMediansMs;
  const q = s?.roundProbesMs;
  const positive = (xs: unknown): xs is number[] => Array.isArray(xs) && xs.length > 0 && xs.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0);
  if (!positive(m) || !positive(q) || q.length !== m.length + 1) return undefined;
  let i = 0;
  for (let j = 1; j < m.length; j++) if (m[j]! < m[i]!) i = j;
  return Math.min(q[i]!, q[i + 1]!);
}

/** runs (or node profiles) with each probe replaced by the machine state of its window (smoothedProbes, or PER_ROUND) */
export function atMachineState<T extends { measuredAt?: number; probeMs?: number; stats?: unknown }>(items: readonly T[], windowS: number): T[] {
  if (windowS === PER_ROUND) {
    return items.map((x) => {
      const probeMs = quietestRoundProbe(x.stats);
      return probeMs === undefined ? x : { ...x, probeMs };
    });
  }
  const probes = smoothedProbes(items.map((x) => ({ atMs: x.measuredAt, probeMs: x.probeMs })), windowS);
  return items.map((x, i) => (probes[i] === undefined ? x : { ...x, probeMs: probes[i] }));
}

export interface ProbeWindowChoice {
  windowS: number;
  /** per window: the share of measurement passes within ±5 % / ±10 % of their network's median */
  candidates: Array<{ windowS: number; within5: number; within10: number }>;
  /** how many passes judged them */
  passes: number;
}

/**
 * The probe window under which the measurement passes of the same networks agree best (the most
 * passes within ±5 % of their network's median pass; ties go to the earlier in PROBE_WINDOWS_S). `runs` is
 * the series the window slides over (all collections measured together); only the networks for
 * which `judge` holds, with at least two passes, are compared — bench:models judges on its
 * calibration and validation networks, never on the test networks.
 */
export function chooseProbeWindow(runs: readonly ModelRun[], judge: (r: ModelRun) => boolean = () => true): ProbeWindowChoice {
  const candidates = PROBE_WINDOWS_S.map((windowS) => {
    const byModel = new Map<string, number[]>();
    for (const r of atMachineState(runs, windowS)) {
      if (!judge(r)) continue;
      const v = atNominal(r.latencyMs, r.probeMs, 1);
      const key = `${r.collection}/${r.model}`;
      const xs = byModel.get(key);
      if (xs) xs.push(v);
      else byModel.set(key, [v]);
    }
    const dev: number[] = [];
    for (const xs of byModel.values()) {
      if (xs.length < 2) continue;
      const m = median(xs);
      for (const x of xs) dev.push(Math.abs(x / m - 1));
    }
    const share = (t: number) => (dev.length ? dev.filter((d) => d <= t).length / dev.length : 0);
    return { windowS, within5: share(0.05), within10: share(0.1), n: dev.length };
  });
  let best = candidates[0]!;
  for (const c of candidates) if (c.within5 > best.within5 + 1e-12) best = c;
  return { windowS: best.windowS, candidates: candidates.map(({ windowS, within5, within10 }) => ({ windowS, within5, within10 })), passes: best.n };
}

/**
 * Every whole-network run of a device setting at its machine state, read the way the calibration
 * and validation networks' passes agree best (chooseProbeWindow judges on those two collections
 * only, never on the test networks): what bench:models and the studies behind it start from.
 */
export function runsAtChosenWindow(store: Store, key: string): { window: ProbeWindowChoice; runs: ModelRun[] } {
  const deviceRuns = store.deviceModelRuns(key);
  const window = chooseProbeWindow(deviceRuns, (r) => r.collection === 'calib' || r.collection === 'val');
  return { window, runs: atMachineState(deviceRuns, window.windowS) };
}

/** node profiles with each probe replaced by the machine state of its window (profiled in their own series) */
export function profilesAtMachineState<T>(profiles: ReadonlyMap<string, NodeProfile<T>>, windowS: number): Map<string, NodeProfile<T>> {
  const names = [...profiles.keys()];
  const smoothed = atMachineState([...profiles.values()], windowS);
  return new Map(names.map((n, i) => [n, smoothed[i]!]));
}

/** a per-node profile's times put at the nominal machine state, as the end-to-end measurements are */
export function profileAtNominal(p: NodeProfile<NodeTime[]>, nominalProbeMs: number | undefined): NodeTime[] {
  const f = atNominal(1, p.probeMs, nominalProbeMs);
  return f === 1 ? p.nodes : p.nodes.map((n) => ({ ...n, ms: n.ms * f }));
}

/**
 * The runtime profiler's own cost per node (estimateProfilerCost) on the networks both profiled per
 * node and measured end to end, both at the nominal machine state.
 */
export function profilerCostOf(profiles: ReadonlyMap<string, NodeProfile<NodeTime[]>>, measured: ReadonlyMap<string, Pick<MeasuredModel, 'measuredMs'>>, nominalProbeMs: number | undefined): number {
  const networks = [...profiles].flatMap(([name, p]) => {
    const m = measured.get(name);
    if (!m) return [];
    const nodes = profileAtNominal(p, nominalProbeMs);
    return [{ nodes: nodes.length, profiledMs: nodes.reduce((a, n) => a + n.ms, 0), measuredMs: m.measuredMs }];
  });
  return estimateProfilerCost(networks);
}

/** the node times an in-graph method learns from: as profiled, or attributed to the measured end-to-end latency ('gbt-e2e') */
export function inGraphTargets(nodes: NodeTime[], method: InGraphMethod, profilerCostMs: number, measuredMs: number | undefined): NodeTime[] {
  return method === 'gbt-e2e' && measuredMs !== undefined ? attributeToMeasured(nodes, measuredMs, profilerCostMs) : nodes;
}

type Progress = { stop?: { stop: boolean }; onProgress?(done: number, total: number): void };

/** Loads and handles each model still to do, reporting progress; false when stopped. */
async function eachMissing<T extends LazyModel>(todo: readonly T[], doneBefore: number, o: Progress, work: (m: T, mf: ModelFile) => Promise<void>): Promise<boolean> {
  for (const [i, m] of todo.entries()) {
    if (o.stop?.stop) return false;
    await work(m, m.load());
    o.onProgress?.(doneBefore + i + 1, doneBefore + todo.length);
  }
  return true;
}

/** Profiles per node (the runtime's profiler) the models of a collection that have no profile yet. */
export async function profileInto(
  store: Store,
  setting: WholeModelSetting,
  collection: string,
  models: readonly LazyModel[],
  o: Progress = {},
): Promise<boolean> {
  const key = settingKey(setting);
  const done = store.nodeProfiles(collection, key);
  const probe = await MachineProbe.open(getRuntime(setting.device), setting.threads);
  try {
    return await eachMissing(models.filter((m) => !done.has(m.name)), done.size, o, async (m, mf) => {
      const probeMs = await probe.time();
      store.saveNodeProfile(collection, m.name, key, await profileNodes(mf.bytes, mf.inputs, setting.device, setting.threads), probeMs);
    });
  } finally {
    await probe.close();
  }
}

/** the probe window under which a collection's measurement passes agree best (chooseProbeWindow) */
export const probeWindowOf = (store: Store, setting: WholeModelSetting, collection: string) => chooseProbeWindow(store.modelRuns(collection, settingKey(setting)));

/** Fits the in-graph correction on the per-node profiles of a collection and stores it. */
export function fitStoredInGraph(
  store: Store,
  setting: WholeModelSetting,
  collection: string,
  models: readonly LazyModel[],
  method: InGraphMethod = CALIBRATION_DESIGN.inGraph === 'none' ? 'linear' : CALIBRATION_DESIGN.inGraph,
  windowS = probeWindowOf(store, setting, collection).windowS,
): InGraphModel {
  const predictor = WholeModelPredictor.open(store, setting, { calibration: false, inGraph: false });
  const profiles = profilesAtMachineState(store.nodeProfiles<NodeTime[]>(collection, settingKey(setting)), windowS);
  const measured = medianRuns(atMachineState(store.modelRuns(collection, settingKey(setting)), windowS), predictor.nominalProbeMs);
  const cost = method === 'gbt-net' || method === 'gbt-e2e' ? profilerCostOf(profiles, measured, predictor.nominalProbeMs) : 0;
  const pairs = models
    .filter((m) => profiles.has(m.name) && (method !== 'gbt-e2e' || measured.has(m.name)))
    .flatMap((m) => inGraphPairs(predictor.kernelPredictions(m.load().imported, { inGraph: null }), inGraphTargets(profileAtNominal(profiles.get(m.name)!, predictor.nominalProbeMs), method, cost, measured.get(m.name)?.measuredMs)));
  const fitted = fitInGraph(pairs, method, cost);
  saveInGraph(store, setting, fitted);
  return fitted;
}

/** Fits the calibration of a setting on the measured models of a collection and stores it. */
export function fitStoredCalibration(
  store: Store,
  setting: WholeModelSetting,
  collection: string,
  models: readonly LazyModel[],
  variant: CalibrationVariant = 'groups',
  windowS = probeWindowOf(store, setting, collection).windowS,
  fallback?: CalibrationVariant,
): Calibration {
  const predictor = WholeModelPredictor.open(store, setting, { calibration: false });
  const nominal = predictor.nominalProbeMs;
  const measured = medianRuns(atMachineState(store.modelRuns(collection, settingKey(setting)), windowS), nominal);
  const rows = models
    .filter((m) => measured.has(m.name))
    .map((m) => ({ kernels: predictor.kernelPredictions(m.load().imported), measuredMs: measured.get(m.name)!.measuredMs }));
  // a variant with more coefficients than networks to fit them gives way to the fallback
  const chosen = fallback && !canFitCalibration(rows, variant) ? fallback : variant;
  const c: Calibration = { ...fitCalibration(rows, chosen, nominal), probeWindowS: windowS };
  saveCalibration(store, settingKey(setting), c);
  return c;
}

/**
 * The design `calibrate` fits, as chosen on validation networks by bench:models
 * (reports/models.md): which in-graph correction is used (it needs a runtime profiler: ort-cpu;
 * elsewhere none) and which calibration variant. The variant is the 1-thread choice of the quiet
 * run of session 17 (groups 62.3 % within ±10 % on validation vs kinds 58.5 %); session 18's noisier
 * data preferred kinds by 1.5 points (60.0 vs 58.5 %) — within the noise between runs, so kept.
 * Session 21's bench, with 200 calibration networks measured in 3 passes, chose 'modules' on 1
 * thread (89.6 vs 85.7 % on validation + CV): one factor per module needs that many networks, so
 * `calibrate` (50 by default) keeps the five group factors. Session 30's bench (220 calibration +
 * 33 validation networks) chose the trees learned net of the profiler's per-node cost on both
 * ort-cpu settings (1 thread: 87.4 % within ±10 % on validation + CV, against 85.0 % for the plain
 * trees' best; with group factors as good as with 'modules+layout' on ±10 %). Session 31's
 * (same data) chose the trees learned on those net times attributed to each network's end-to-end
 * latency ('gbt-e2e') on both: with group factors 88.9 vs 87.4 % (1 thread) and 66.0 vs 60.9 %
 * (2 threads) on validation + CV. On ort-wasm (no per-node profiles, so no in-graph correction)
 * session 41 chose 'modules+transfer' the way `calibrate` fits it — on the first 5 calibration
 * networks of each family (the default --per-family), judged on the other 195 and 78 validation
 * networks: 89.0 % within ±10 % (RMSPE 6.4 %) against 81.3 % (7.8 %) for 'groups'
 * (`PER_FAMILY=5 node scripts/models-calibration-study.mjs wasm`); with too few networks for a
 * factor per module it falls back to 'groups'.
 */
export const CALIBRATION_DESIGN: { inGraph: InGraphMethod | 'none'; variant: CalibrationVariant; byDevice: Record<string, CalibrationVariant> } = { inGraph: 'gbt-e2e', variant: 'groups', byDevice: { 'ort-wasm': 'modules+transfer' } };

/**
 * Passes over the shuffled list in which `calibrate` and bench:models measure every network; its
 * latency is the median. One pass left the calibration and the judge with single measurements that
 * agree with a later one within ±10 % only ~80 % of the time. On 200 calibration + 30 validation
 * networks (1 thread), the design fitted on and judged against one pass alone put 81.7–83.5 %
 * within ±10 %, against the median of three 85.7 % (`node scripts/models-truth-study.mjs t1`;
 * reports/models-history.md).
 */
export const MEASUREMENT_PASSES = 3;

/**
 * Measures `perFamily` generated networks of every family on a device setting (resumable), profiles
 * them per node where the runtime can, and fits and stores the in-graph correction and the
 * calibration. Undefined when stopped.
 */
export async function calibrateSetting(
  store: Store,
  setting: WholeModelSetting,
  o: { perFamily: number; passes?: number; stop?: { stop: boolean }; onProgress?(phase: string, done: number, total: number): void },
): Promise<{ calibration: Calibration; inGraph: InGraphModel; probeWindow: ProbeWindowChoice } | undefined> {
  WholeModelPredictor.open(store, setting, { calibration: false, inGraph: false }); // fails early, naming the profile commands, when predictors are missing
  const models = calibrationModels(o.perFamily);
  const measuring = { passes: o.passes ?? MEASUREMENT_PASSES, stop: o.stop, onProgress: (d: number, t: number) => o.onProgress?.('measuring', d, t) };
  if (!(await measureCollectionsInto(store, setting, [{ collection: 'calib', models }], measuring))) return undefined;
  const probeWindow = probeWindowOf(store, setting, 'calib');
  let inGraph: InGraphModel = { format: 2, models: {} };
  if (CALIBRATION_DESIGN.inGraph !== 'none' && setting.device === 'ort-cpu') {
    if (!(await profileInto(store, setting, 'calib', models, { stop: o.stop, onProgress: (d, t) => o.onProgress?.('profiling per node', d, t) }))) return undefined;
    inGraph = fitStoredInGraph(store, setting, 'calib', models, undefined, probeWindow.windowS);
  } else {
    saveInGraph(store, setting, inGraph);
  }
  const variant = CALIBRATION_DESIGN.byDevice[setting.device] ?? CALIBRATION_DESIGN.variant;
  return { calibration: fitStoredCalibration(store, setting, 'calib', models, variant, probeWindow.windowS, CALIBRATION_DESIGN.variant), inGraph, probeWindow };
}
