import type { ImportedModel } from '../ir/onnx-shapes.js';
import { getModule, type ModuleDef, type Params } from '../modules/index.js';
import type { DeviceSettings } from '../profile/space.js';
import type { FeatureSpace } from '../regressors/features.js';
import type { Regressor } from '../regressors/types.js';
import { featureRow, loadSelected } from '../select/autoselect.js';
import { extrapolation, type Ranges } from '../select/ranges.js';
import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { applyCalibration, loadCalibration, type Calibration, type KernelGroup } from './calibration.js';
import { fusionTable, type FusionTable } from './fusion.js';
import { inGraphFeatures, inGraphKey, inGraphMs, isInGraphModel, type InGraphModel } from './ingraph.js';
import { detectKernels, INTEGER_OPS, type Kernel } from './kernels.js';
import { mapKernel } from './mapping.js';
import { fitRoofline, rooflineMs, type Roofline } from './roofline.js';

/**
 * Whole-model prediction: the imported graph is split into the device's kernels, each kernel is
 * answered by the trained module predictor it maps to (or by the device's roofline when no module
 * fits), and the sum is calibrated by a per-model overhead and per-group factors fitted on
 * measured generated models (calibration.ts).
 */
export interface WholeModelSetting {
  device: string;
  threads: number;
}

export const settingKey = (s: WholeModelSetting) => `${s.device}/t${s.threads}`;
const inGraphStoreKey = (s: WholeModelSetting) => `${settingKey(s)}#ingraph`;

export function saveInGraph(store: Store, s: WholeModelSetting, m: InGraphModel): void {
  store.saveCalibration(inGraphStoreKey(s), m);
}

function loadInGraph(store: Store, s: WholeModelSetting): InGraphModel | undefined {
  const json = store.calibration(inGraphStoreKey(s));
  if (!json) return undefined;
  const m = JSON.parse(json) as unknown;
  if (!isInGraphModel(m)) throw new UserError(`stored in-graph correction for ${settingKey(s)} is unreadable; refit it with 'latencylab calibrate'`, 'calibration');
  return m;
}

/**
 * The ops without a predictor (Transpose, Split, Resize, unfused normalisation, …) move memory
 * rather than compute: the roofline is fitted on the memory-bound modules' samples.
 */
const MEMORY_BOUND = new Set(['add', 'activation', 'concat', 'maxpool', 'avgpool', 'globalavgpool', 'softmax', 'layernorm', 'batchnorm']);

/** modules without which a prediction would be mostly roofline guesses */
export const REQUIRED_MODULES = ['conv2d', 'dwconv', 'linear'];

const MEMO_LIMIT = 100_000;

export interface KernelPrediction {
  kernel: Kernel;
  /** calibrated milliseconds (the raw prediction times its group's factor) */
  ms: number;
  rawMs: number;
  group: KernelGroup;
  /** 'rm:<kind>' (module predictor), 'roofline', or 'free' (no kernel work) */
  source: string;
  module?: string;
  /** a module predictor would answer this kernel, but the store has none for the setting (roofline instead) */
  untrained?: string;
  extrapolated: string[];
  approx: string[];
}

export interface ModelPrediction {
  setting: WholeModelSetting;
  totalMs: number;
  /** sum of the raw kernel predictions, before calibration */
  rawSumMs: number;
  /** the fitted per-model part of the calibrated total (session dispatch, runtime overhead) */
  overheadMs: number;
  /**
   * ≤ 0: what was cut off layers whose linear estimate fell below zero (they show 0 ms; the total
   * keeps the fitted sum): totalMs = overheadMs + clampedMs + Σ kernel ms (calibration.ts)
   */
  clampedMs: number;
  calibrated: boolean;
  kernels: KernelPrediction[];
  /** share of compute FLOPs answered by trained module predictors (the rest: roofline) */
  coverage: number;
  flops: number;
  /** module predictors used, by module: dataset name */
  datasets: Record<string, string>;
  fusion: string;
  /** the machine probe the calibration was measured at (totalMs is at that machine state) */
  probeMs?: number;
  /** how the calibration read the machine state of a measurement (Calibration.probeWindowS) */
  probeWindowS?: number;
}

interface ModulePredictor {
  dataset: string;
  module: ModuleDef;
  model: Regressor;
  fs: FeatureSpace;
  ranges: Ranges;
  /** the machine-probe time its predictions are at (probe-normalised training), if any */
  probeMs?: number;
}

export class WholeModelPredictor {
  private constructor(
    readonly setting: WholeModelSetting,
    private readonly modules: Map<string, ModulePredictor>,
    private readonly roofline: Roofline,
    /** the fixed cost of one standalone session.run, included in every module sample */
    readonly runOverheadMs: number,
    /**
     * the machine state every figure of this predictor is at: the median probe of its module
     * datasets (undefined when they were profiled without --probe)
     */
    readonly nominalProbeMs: number | undefined,
    private readonly calibration: Calibration | undefined,
    private readonly fusion: FusionTable,
    private readonly inGraph: InGraphModel | undefined,
  ) {}

  /** module predictions by module and parameters: the RM's answer × clamp and machine-state scale */
  private readonly memo = new Map<string, { ms: number; scale: number; extrapolated: string[] }>();

  /** the profiler's own cost per profiled node the stored in-graph correction learned without ('gbt-net', 'gbt-e2e'), ms */
  get profilerCostMs(): number | undefined {
    return this.inGraph?.profilerCostMs;
  }

  /**
   * Loads the trained module predictors of a device setting from the store.
   * `calibration: false` / `inGraph: false` ignore the stored calibration / in-graph correction —
   * what `calibrate` opens to refit them, so that one left unreadable (by an older latencylab, say)
   * cannot stand in its way.
   */
  static open(store: Store, setting: WholeModelSetting, o: { calibration?: boolean; inGraph?: boolean } = {}): WholeModelPredictor {
    const fusion = fusionTable(setting.device);
    const modules = new Map<string, ModulePredictor>();
    const rooflineRows: Array<{ flops: number; bytes: number; ms: number }> = [];
    const allRows: typeof rooflineRows = [];
    const probes: number[] = [];
    // newest first: a module re-profiled and retrained replaces the older dataset
    for (const ds of store.listDatasets().reverse()) {
      if (ds.device !== setting.device || modules.has(ds.module) || !store.selectedModel(ds.id)) continue;
      let sel: ReturnType<typeof loadSelected>;
      try {
        sel = loadSelected(store, ds.name);
      } catch {
        continue; // a corrupt or outdated model: the module falls back to the roofline
      }
      if (!sel.ranges.threads.includes(setting.threads)) continue;
      modules.set(ds.module, { dataset: ds.name, module: getModule(ds.module), ...sel });
      if (sel.probeMs) probes.push(sel.probeMs);
    }
    // every figure at one machine state: the median of the module datasets' probes
    const nominal = probes.length && probes.length === modules.size ? median(probes) : undefined;
    for (const mp of modules.values()) {
      for (const s of store.samples(store.requireDataset(mp.dataset).id)) {
        if (s.threads !== setting.threads || s.load_workers !== 0) continue;
        const ms = nominal && s.probe_ms ? (s.latency_ms * nominal) / s.probe_ms : s.latency_ms;
        const row = { flops: s.flops, bytes: s.input_bytes + s.output_bytes + s.weight_bytes, ms };
        allRows.push(row);
        if (MEMORY_BOUND.has(mp.module.name)) rooflineRows.push(row);
      }
    }
    const missing = REQUIRED_MODULES.filter((m) => !modules.has(m));
    if (missing.length) throw new UserError(missingMessage(setting, missing), 'device');
    // every module sample includes one session.run (input binding, N-API crossing, output
    // allocation): the fastest sample measured is that cost plus next to no work. A kernel inside
    // a model does not pay it, so it is taken off each module prediction.
    const runOverheadMs = allRows.reduce((m, r) => Math.min(m, r.ms), Infinity);
    return new WholeModelPredictor(setting, modules, fitRoofline(rooflineRows.length >= 10 ? rooflineRows : allRows), Number.isFinite(runOverheadMs) ? runOverheadMs : 0, nominal, o.calibration === false ? undefined : loadCalibration(store, settingKey(setting)), fusion, o.inGraph === false ? undefined : loadInGraph(store, setting));
  }

  /** forgets remembered module predictions (to time a prediction as a fresh process would) */
  clearMemo(): void {
    this.memo.clear();
  }

  /** datasets behind this predictor, by module (shown with predictions) */
  datasets(): Record<string, string> {
    return Object.fromEntries([...this.modules].map(([m, p]) => [m, p.dataset]));
  }

  /**
   * Raw per-kernel predictions, uncalibrated (calibration.ts fits on these); in-graph corrected
   * when the store has an in-graph model for the setting (pass `inGraph: null` for the standalone figures).
   */
  kernelPredictions(model: ImportedModel, o: { inGraph?: InGraphModel | null; fusion?: FusionTable } = {}): KernelPrediction[] {
    const inGraph = o.inGraph === null ? undefined : (o.inGraph ?? this.inGraph);
    // `fusion`: another table than the device's (bench:models' with/without-fusion comparison)
    const table = o.fusion ?? this.fusion;
    const kernels = detectKernels(model, table);
    // a long-lived predictor (the prediction service, a search) remembers module predictions; past
    // this many distinct configurations (~10 MB) it starts over rather than grow without bound
    if (this.memo.size > MEMO_LIMIT) this.memo.clear();
    const device: DeviceSettings = { threads: this.setting.threads, optLevel: 'all', loadWorkers: 0, loadDuty: 0 };
    const out: KernelPrediction[] = [];
    // module configurations predicted once per predictor (repeated blocks, repeated calls in a search)
    const pending = new Map<string, { module: string; row: number[] }>();
    const waiting: Array<{ at: number; key: string; scale: number; repeat?: number }> = [];
    for (const k of kernels) {
      if (k.cls === 'free') {
        out.push({ kernel: k, ms: 0, rawMs: 0, group: 'free', source: 'free', extrapolated: [], approx: [] });
        continue;
      }
      const primary = mapKernel(k, table);
      // a module this device has no predictor for may have a stand-in that it has
      const mapping = primary && !this.modules.has(primary.module) && primary.fallback && this.modules.has(primary.fallback.module) ? primary.fallback : primary;
      const mp = mapping && this.modules.get(mapping.module);
      let unbuildable: string | undefined;
      if (mapping && mp) {
        try {
          const key = `${mapping.module}:${JSON.stringify(mapping.params)}`;
          let memo = this.memo.get(key);
          if (!memo) {
            const extrapolated = extrapolation(mp.ranges, mapping.params, device);
            const { params, scale } = extrapolated.length ? clampToTrained(mp, mapping.params) : { params: mapping.params, scale: 1 };
            // a module trained at another machine state is brought to the predictor's
            const state = this.nominalProbeMs && mp.probeMs ? this.nominalProbeMs / mp.probeMs : 1;
            memo = { ms: NaN, scale: scale * state, extrapolated };
            this.memo.set(key, memo);
            const graph = mp.module.build(params, 1, false);
            pending.set(key, { module: mapping.module, row: mp.fs.encode(featureRow(mp.module, params, device, graph, { json: false }), { params, graph }) });
          }
          waiting.push({ at: out.length, key, scale: mapping.scale, ...(mapping.repeat ? { repeat: mapping.repeat } : {}) });
          // a stand-in says what it stands in for: training that predictor would answer better
          const approx = mapping === primary ? mapping.approx : [`no trained ${primary!.module} predictor (latencylab profile -m ${primary!.module})`, ...mapping.approx];
          out.push({ kernel: k, ms: 0, rawMs: 0, group: groupOf(mapping.module), source: `rm:${mp.model.kind}`, module: mapping.module, extrapolated: memo.extrapolated, approx });
          continue;
        } catch (e) {
          if (!(e instanceof UserError)) throw e; // a configuration the module cannot build: roofline
          unbuildable = `not a ${mapping.module} configuration (${e.message})`;
        }
      }
      const ms = inGraphMs(inGraph, inGraphKey(undefined, k), k, rooflineMs(this.roofline, k.flops, k.bytes) - this.roofline.fixedMs);
      const untrained = mapping && !mp ? mapping.module : undefined;
      const approx = untrained ? [`no trained ${untrained} predictor`] : unbuildable ? [unbuildable] : INTEGER_OPS.has(k.op) ? ['integer op priced as float32 (4 bytes an element)'] : [];
      out.push({ kernel: k, ms, rawMs: ms, group: 'roofline', source: 'roofline', ...(untrained ? { untrained } : {}), extrapolated: [], approx });
    }
    // one batched RM call per module for the configurations not seen before
    const byModule = new Map<string, string[]>();
    for (const [key, x] of pending) {
      const keys = byModule.get(x.module);
      if (keys) keys.push(key);
      else byModule.set(x.module, [key]);
    }
    for (const [module, keys] of byModule) {
      const mp = this.modules.get(module)!;
      let preds: number[];
      try {
        preds = mp.model.predict(keys.map((key) => pending.get(key)!.row));
      } catch (e) {
        throw new UserError(`the stored ${mp.model.kind} model of '${mp.dataset}' cannot predict (${(e as Error).message}); retrain it with 'latencylab train --dataset ${mp.dataset}'`, 'device');
      }
      if (preds.some((v) => !Number.isFinite(v))) {
        throw new UserError(`the stored ${mp.model.kind} model of '${mp.dataset}' predicts a non-finite latency; retrain it with 'latencylab train --dataset ${mp.dataset}'`, 'device');
      }
      keys.forEach((key, i) => {
        const m = this.memo.get(key)!;
        m.ms = Math.max(0, preds[i]!) * m.scale;
      });
    }
    // repeated blocks repeat their kernels: each distinct one is corrected once (a GBT answer is ~10 µs)
    const corrected = new FeatureMemo();
    for (const w of waiting) {
      const p = out[w.at]!;
      const standalone = this.memo.get(w.key)!.ms * w.scale;
      // never below 10 % of the standalone figure: a kernel always costs something
      const base = Math.max(standalone - this.runOverheadMs, 0.1 * standalone);
      if (w.repeat) {
        // a kernel that runs the mapped configuration step after step (a recurrent layer): each
        // step without the standalone run's overhead; no in-graph tree has seen such a kernel
        p.rawMs = p.ms = base * w.repeat;
        continue;
      }
      const key = inGraphKey(p.module, p.kernel);
      // the correction reads nothing of a kernel but its features (which hold the base time)
      const features = inGraph ? inGraphFeatures(p.kernel, base, !!inGraph.alignment) : undefined;
      p.rawMs = features ? corrected.getOrCompute(key, features, () => inGraphMs(inGraph, key, p.kernel, base, features)) : base;
      p.ms = p.rawMs;
    }
    return out;
  }

  predict(model: ImportedModel, o: { inGraph?: InGraphModel | null; calibration?: Calibration | null; fusion?: FusionTable } = {}): ModelPrediction {
    const kernels = this.kernelPredictions(model, o);
    const calibration = o.calibration === null ? undefined : (o.calibration ?? this.calibration);
    const { totalMs, overheadMs, clampedMs } = applyCalibration(calibration, kernels);
    const compute = kernels.filter((k) => k.group !== 'free');
    const flops = compute.reduce((s, k) => s + k.kernel.flops, 0);
    const rmFlops = compute.filter((k) => k.source.startsWith('rm:')).reduce((s, k) => s + k.kernel.flops, 0);
    return {
      setting: this.setting,
      totalMs,
      rawSumMs: kernels.reduce((s, k) => s + k.rawMs, 0),
      overheadMs,
      clampedMs,
      calibrated: !!calibration,
      kernels,
      coverage: flops > 0 ? rmFlops / flops : 0,
      flops,
      datasets: this.datasets(),
      fusion: this.fusion.source,
      ...(calibration?.probeMs ? { probeMs: calibration.probeMs } : {}),
      ...(calibration?.probeWindowS !== undefined ? { probeWindowS: calibration.probeWindowS } : {}),
    };
  }
}

/**
 * Outside the trained range an RM's answer is unreliable (a forest is flat, a polynomial can
 * explode). The kernel is predicted at the nearest trained configuration instead; when the true
 * kernel does more work than that configuration, the prediction is scaled up by the work ratio
 * (compute-bound kernels grow with work), and when it does less it is kept (small kernels are
 * dominated by fixed costs, so the nearest trained one is the better bound).
 */
function clampToTrained(mp: ModulePredictor, params: Params): { params: Params; scale: number } {
  const clamped: Params = { ...params };
  for (const [name, [lo, hi]] of Object.entries(mp.ranges.ints)) {
    const v = params[name];
    if (typeof v === 'number') clamped[name] = Math.min(hi, Math.max(lo, v));
  }
  for (const [name, seen] of Object.entries(mp.ranges.choices)) if (!seen.includes(params[name]!)) clamped[name] = seen[0]!;
  let work = 1;
  try {
    work = mp.module.build(params, 1, false).cost.flops / Math.max(1, mp.module.build(clamped, 1, false).cost.flops);
  } catch {
    // the clamped configuration cannot be built (e.g. groups no longer divide): keep the original
    return { params, scale: 1 };
  }
  return { params: clamped, scale: Math.max(1, work) };
}

/**
 * Answers remembered by (key, feature vector), matched exactly: a hash of the features' bits picks
 * the bucket (no string built per kernel — formatting 17 doubles cost more than the lookup saved).
 */
class FeatureMemo {
  private readonly buckets = new Map<number, Array<{ key: string; features: number[]; value: number }>>();
  private readonly f64 = new Float64Array(1);
  private readonly u32 = new Uint32Array(this.f64.buffer);

  private hash(key: string, xs: readonly number[]): number {
    let h = 2166136261 ^ key.length;
    for (const x of xs) {
      this.f64[0] = x;
      h = Math.imul(h ^ this.u32[0]!, 16777619);
      h = Math.imul(h ^ this.u32[1]!, 16777619);
    }
    return h;
  }

  /** the remembered answer for (key, features), or `compute`'s, remembered */
  getOrCompute(key: string, features: number[], compute: () => number): number {
    const h = this.hash(key, features);
    let bucket = this.buckets.get(h);
    const hit = bucket?.find((e) => e.key === key && e.features.length === features.length && e.features.every((x, i) => Object.is(x, features[i])));
    if (hit) return hit.value;
    const value = compute();
    if (!bucket) this.buckets.set(h, (bucket = []));
    bucket.push({ key, features, value });
    return value;
  }
}

function groupOf(module: string): KernelGroup {
  if (module === 'conv2d') return 'conv';
  if (module === 'dwconv') return 'dwconv';
  if (module === 'linear' || module === 'matmul') return 'dense';
  return 'other';
}

/** the commands that profile and train one module's predictor for a setting, and about how many minutes they take */
export function trainCommand(setting: WholeModelSetting, module: string, samples = 300): { command: string; minutes: number } {
  const perMin = setting.device === 'ort-wasm' ? 60 : 400;
  return { command: `latencylab profile -m ${module} -d ${setting.device} -t ${setting.threads} -n ${samples} --probe && latencylab train --dataset ${module}@${setting.device}`, minutes: samples / perMin };
}

/** what to run to train the predictors a device setting lacks, with an honest time estimate */
export function missingMessage(setting: WholeModelSetting, missing: string[]): string {
  const cmds = missing.map((m) => trainCommand(setting, m));
  const minutes = Math.ceil(cmds.reduce((s, c) => s + c.minutes, 0));
  return `no trained ${missing.join(', ')} predictor${missing.length > 1 ? 's' : ''} for ${setting.device} at ${setting.threads} thread${setting.threads > 1 ? 's' : ''}; train them with (about ${minutes} min of profiling, run alone on the machine):\n  ${cmds.map((c) => c.command).join('\n  ')}\n(other modules — pooling, elementwise, softmax, layernorm, convtranspose — are optional: kernels without a predictor fall back to the device roofline)`;
}

/** modules a prediction needed but the store has no predictor for: their kernels and share of the predicted time */
export function untrainedModules(p: ModelPrediction): Array<{ module: string; kernels: number; share: number }> {
  return timeShareBy(p, (k) => k.untrained).map(({ key, kernels, share }) => ({ module: key, kernels, share }));
}

/**
 * Per module, the kernels whose configuration lies outside the module predictor's trained ranges
 * (predicted at the nearest trained configuration, scaled by work: clampToTrained) and their share
 * of the predicted time, with the ranges they leave (their largest kernels' first). PP-OCRv4 det on
 * ort-cpu 1 thread: half of its predicted time, 3×3 convolutions at 160² predicted ~2× their
 * profiled time (reports/models-history.md, session 37): what tells a user why such a prediction is off.
 */
export function extrapolatedModules(p: ModelPrediction): Array<{ module: string; kernels: number; share: number; beyond: string[] }> {
  const extrapolated = (k: KernelPrediction) => (k.module && k.extrapolated.length ? k.module : undefined);
  const beyond = new Map<string, Set<string>>();
  for (const k of [...p.kernels].sort((a, b) => b.ms - a.ms)) {
    const m = extrapolated(k);
    if (!m) continue;
    const set = beyond.get(m) ?? new Set<string>();
    // "hw=160 > 111": the parameter and the trained bound, once per bound
    for (const e of k.extrapolated) set.add(e.replace(/^(\w+)=\S+ ([<>]) /, '$1 $2 '));
    beyond.set(m, set);
  }
  return timeShareBy(p, extrapolated).map(({ key, kernels, share }) => ({ module: key, kernels, share, beyond: [...beyond.get(key)!] }));
}

/** kernels grouped by a key (those without one left out): how many, and their share of the predicted time, largest first */
function timeShareBy(p: ModelPrediction, keyOf: (k: KernelPrediction) => string | undefined): Array<{ key: string; kernels: number; share: number }> {
  const by = new Map<string, { kernels: number; ms: number }>();
  for (const k of p.kernels) {
    const key = keyOf(k);
    if (!key) continue;
    const e = by.get(key) ?? { kernels: 0, ms: 0 };
    e.kernels++;
    e.ms += k.ms;
    by.set(key, e);
  }
  const total = p.kernels.reduce((s, k) => s + k.ms, 0);
  return [...by].map(([key, e]) => ({ key, kernels: e.kernels, share: total > 0 ? e.ms / total : 0 })).sort((a, b) => b.share - a.share);
}
