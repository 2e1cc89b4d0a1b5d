import type { Graph } from '../ir/graph.js';
import { getModule, type Params } from '../modules/index.js';
import { validateParams } from '../modules/validate.js';
import { referenceParams } from '../profile/profiler.js';
import type { DeviceSettings } from '../profile/space.js';
import { featureSpace, getRegressorKind, type FeatureSource, type FeatureSpace, type Regressor } from '../regressors/index.js';
import type { FeatureOptions } from '../regressors/features.js';
import type { DatasetRow, SampleRow, Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { choose, markPareto, type Limits, type Objective } from './policy.js';
import { crossValidate, cvFoldsFor, fitCandidates, type Candidate } from './candidates.js';
import { extrapolation, trainingRanges, type Ranges } from './ranges.js';
import { chooseStateMethod, methodsFor, type StateMethod } from './machine-state.js';
import { featureOptionsFor, splitRows } from './split.js';

export interface SelectionResult {
  dataset: string;
  trainSize: number;
  valSize: number;
  /** folds of the cross-validation the choice was made on (0: the validation split) */
  cvFolds: number;
  objective: Objective;
  candidates: Candidate[];
  selected: string;
  features: FeatureSpace;
  featureOptions: FeatureOptions;
  ranges: Ranges;
  /** MEDN's auxiliary tasks, in head order after the main latency */
  tasks: string[];
  /** how the samples were put at one machine state (as measured when they carry no signal) */
  machineState: Awaited<ReturnType<typeof chooseStateMethod>>;
}

export interface TrainOptions {
  seed?: number;
  /** share of the dataset held out for choosing (default 0.2) */
  valFraction?: number;
  kinds?: string[];
  objective?: Objective;
  limits?: Limits;
  /** hardware-aware kernel features (default on) */
  kernelFeatures?: boolean;
  /** datasets of the same module on other device settings: MEDN learns their latency as extra tasks */
  related?: string[];
  /**
   * datasets of the same module and device on other settings (threads, load) trained on together
   * with this one: one model with the settings as inputs
   */
  include?: string[];
  /** store the models (default true) */
  save?: boolean;
  /** how to put the samples at one machine state, instead of choosing on the validation split (its signal must be on every sample) */
  stateMethod?: StateMethod;
  /** choose on k-fold cross-validation over every sample (0: on the validation split; default: CV_FOLDS when that split is small, cvFoldsFor) */
  cvFolds?: number;
  onProgress?(kind: string): void;
}

export const MIN_TRAIN_SAMPLES = 20;

/** what a stored model says about the data it came from */
export function datasetVersion(ds: DatasetRow, rows: SampleRow[]) {
  return { name: ds.name, id: ds.id, createdAt: ds.created_at, specHash: ds.spec_hash, samples: rows.length, lastMeasuredAt: rows.reduce((m, r) => (r.measured_at > m ? r.measured_at : m), '') };
}

/**
 * Trains every RM kind on a dataset (train / validation split), chooses one by the objective and
 * limits on the validation split, and stores every model with its metrics and the dataset version.
 */
export async function trainAndSelect(store: Store, datasetName: string, opts: TrainOptions = {}): Promise<SelectionResult> {
  const ds = store.requireDataset(datasetName);
  let rows = store.samples(ds.id);
  for (const name of opts.include ?? []) {
    const other = store.requireDataset(name);
    if (other.module !== ds.module || other.device !== ds.device) throw new UserError(`dataset '${name}' is ${other.module} on ${other.device}; '${datasetName}' is ${ds.module} on ${ds.device}`, '--include');
    rows.push(...store.samples(other.id));
  }
  if (rows.length < MIN_TRAIN_SAMPLES) {
    throw new UserError(`dataset '${datasetName}' has ${rows.length} samples; at least ${MIN_TRAIN_SAMPLES} are needed to train (profile more with --samples)`, 'dataset');
  }
  const seed = opts.seed ?? 1;
  // samples profiled with --probe / --reference are put at one machine state (the signal and its
  // time window chosen on the validation split): the drift of a shared host between chunks stops
  // being noise the RMs have to learn
  const probed = rows.every((r) => r.probe_ms != null && r.probe_ms > 0);
  if (methodsFor(rows).length > 1 && !opts.stateMethod) opts.onProgress?.('machine state');
  const state = await chooseStateMethod(ds.module, ds.device, rows, { valFraction: opts.valFraction, seed, only: opts.stateMethod });
  // the probe time `predict --now` divides by: the state's nominal when the probe set it, else the median probe
  const probeMs = !probed ? undefined : state.method.source === 'probe' && state.nominal ? state.nominal : median(rows.map((r) => r.probe_ms!));
  rows = state.rows;
  const machineState = { ...state.method, ...(state.nominal ? { nominalMs: state.nominal } : {}) };
  const m = getModule(ds.module);
  const featureOptions = featureOptionsFor(ds.device, opts.kernelFeatures);
  const fs = featureSpace(m, featureOptions);
  const { train, val } = splitRows(rows, opts.valFraction ?? 0.2, seed);
  const related = (opts.related ?? []).map((name) => {
    const r = store.requireDataset(name);
    if (r.module !== ds.module) throw new UserError(`dataset '${name}' is of module ${r.module}, not ${ds.module}`, '--related');
    return { name, rows: store.samples(r.id) };
  });
  const { candidates, tasks } = await fitCandidates(fs, train, val, { kinds: opts.kinds, seed, related, onProgress: opts.onProgress });
  const objective = opts.objective ?? 'balanced';
  // a model that predicts no positive latency for the module's default configuration could not be
  // loaded for prediction (loadSelected refuses it): never select one (a small dataset once made an
  // MLP collapse to 0 and win on 8 validation rows, flaky in CI)
  const usable = candidates.filter((c) => {
    const p = referencePrediction(c.model, fs, m);
    return Number.isFinite(p) && p > 0;
  });
  if (!usable.length) throw new UserError(`dataset '${datasetName}': no regression model predicts a positive latency for the default configuration (profile more samples)`, 'dataset');
  // the stored models stay the ones fitted on the training split; on a small dataset they are
  // compared out of fold over every sample (crossValidate), a few dozen validation rows being too few
  const folds = cvFoldsFor(opts.cvFolds, val.length, rows.length);
  if (folds >= 2) {
    const cv = await crossValidate(fs, [...train, ...val], { folds, kinds: opts.kinds, seed, related, onFold: (f) => opts.onProgress?.(`cross-validation fold ${f + 1}/${folds}`) });
    for (const c of candidates) c.cv = cv.get(c.kind);
    markPareto(candidates);
  }
  const winner = choose(usable, objective, opts.limits);
  winner.selected = true;
  const ranges = trainingRanges(m, train);
  if (opts.save !== false) {
    const version = datasetVersion(ds, rows);
    for (const c of candidates) {
      const { model, ...report } = c;
      store.saveModel(ds.id, c.kind, { format: 2, features: featureOptions, featureNames: fs.names, ranges, state: model.toJSON(), machineState, ...(probeMs ? { probeMs } : {}) }, { ...report, objective, dataset: version, machineState }, c === winner);
    }
  }
  return { dataset: datasetName, trainSize: train.length, valSize: val.length, cvFolds: folds, objective, candidates, selected: winner.kind, features: fs, featureOptions, ranges, tasks, machineState: state };
}

interface StoredModel {
  format: 2;
  features: FeatureOptions;
  /** the feature vector's columns when it was trained (absent before session 55: its columns are a prefix of today's) */
  featureNames?: string[];
  ranges: Ranges;
  state: unknown;
  /** the dataset's median machine-probe time (ms) when it was probed: `predict --now` scales by the probe timed now over this */
  probeMs?: number;
  /** how the training latencies were put at one machine state; with the reference, `predict --now` times it against nominalMs */
  machineState?: StateMethod & { nominalMs?: number };
}

/** Loads the selected RM of a dataset; a corrupt or outdated stored model is a clear error. */
/** a dataset's selected RM, loaded and checked (loadSelected) */
export interface SelectedModel {
  model: Regressor;
  moduleName: string;
  device: string;
  fs: FeatureSpace;
  ranges: Ranges;
  probeMs?: number;
  refMs?: number;
}

export function loadSelected(store: Store, datasetName: string): SelectedModel {
  const ds = store.requireDataset(datasetName);
  const rec = store.selectedModel(ds.id);
  const retrain = `; retrain it with 'latencylab train --dataset ${datasetName}'`;
  if (!rec) throw new UserError(`dataset '${datasetName}' has no trained model; run 'latencylab train --dataset ${datasetName}' first`, 'dataset');
  const m = getModule(ds.module);
  let stored: StoredModel;
  let model: Regressor;
  let fs: FeatureSpace;
  try {
    stored = JSON.parse(rec.json) as StoredModel;
    if (stored?.format !== 2) throw new Error('stored by an older latencylab (format 1)');
    const r = stored.ranges as Partial<Ranges> | undefined;
    if (!r || typeof r.ints !== 'object' || !r.ints || typeof r.choices !== 'object' || !r.choices || !Array.isArray(r.threads) || !Array.isArray(r.loads)) {
      throw new Error('its training ranges are missing or malformed');
    }
    if (Object.values(r.ints).some((v) => !Array.isArray(v) || v.length !== 2) || Object.values(r.choices).some((v) => !Array.isArray(v))) throw new Error('its training ranges are malformed');
    if (stored.probeMs !== undefined && !(typeof stored.probeMs === 'number' && stored.probeMs > 0)) throw new Error('its machine-probe time is malformed');
    const st = stored.machineState;
    if (st !== undefined && (typeof st !== 'object' || !st || !['raw', 'probe', 'reference'].includes(st.source) || (st.nominalMs !== undefined && !(typeof st.nominalMs === 'number' && st.nominalMs > 0)))) throw new Error('its machine state is malformed');
    model = getRegressorKind(rec.kind).load(stored.state);
    fs = featureSpace(m, stored.features);
    const names = stored.featureNames;
    if (names !== undefined && (!Array.isArray(names) || names.length !== fs.names.length || names.some((n, i) => n !== fs.names[i]))) {
      throw new Error('it was trained on other features than this version of latencylab computes');
    }
    const probe = referencePrediction(model, fs, m);
    if (!Number.isFinite(probe) || probe <= 0) throw new Error(`it predicts ${probe} ms for the default configuration`);
  } catch (e) {
    throw new UserError(`stored model #${rec.id} (${rec.kind}) cannot be used: ${(e as Error).message}${retrain}`, `dataset '${datasetName}'`);
  }
  const refMs = stored.machineState?.source === 'reference' ? stored.machineState.nominalMs : undefined;
  return { model, moduleName: ds.module, device: ds.device, fs, ranges: stored.ranges, ...(stored.probeMs ? { probeMs: stored.probeMs } : {}), ...(refMs ? { refMs } : {}) };
}

/**
 * A configuration's feature source as a stored sample holds it: analytic costs and device settings
 * (`graph`: the module already built, to build it once). `params_json` is only read by
 * FeatureSpace.encode when it is not handed the parameters, so a caller that hands them over
 * (whole-model prediction, per kernel) can skip formatting it.
 */
export function featureRow(m: ReturnType<typeof getModule>, params: Params, device: Pick<DeviceSettings, 'threads' | 'loadWorkers' | 'loadDuty'>, graph: Graph = m.build(params, 1, false), o: { json?: boolean } = {}): FeatureSource {
  const c = graph.cost;
  return {
    params_json: o.json === false ? '' : JSON.stringify(params),
    macs: c.macs, flops: c.flops, params: c.params, input_bytes: c.inputBytes, output_bytes: c.outputBytes,
    weight_bytes: c.weightBytes, activation_bytes: c.activationBytes, intensity: c.intensity, nodes: c.nodes,
    threads: device.threads, load_workers: device.loadWorkers, load_duty: device.loadDuty,
  };
}

export interface Prediction {
  ms: number;
  kind: string;
  /** parameters or device settings outside what the model was trained on ('' when none) */
  extrapolated: string[];
  /** the dataset's device (runtime) */
  device: string;
  module: string;
  /** the machine-probe time `ms` is at (the dataset's median probe); absent when profiled without --probe */
  probeMs?: number;
  /** when `train` put the samples at one state by the module's reference configuration: its latency at that state (ms) */
  refMs?: number;
}

/** Predicts the latency of one module configuration with a dataset's selected RM. */
export function predictConfig(store: Store, datasetName: string, params: unknown, device: DeviceSettings): Prediction {
  return predictSelected(loadSelected(store, datasetName), datasetName, params, device);
}

/** predictConfig with the selected RM already loaded (a service that answers many configurations) */
export function predictSelected(sel: SelectedModel, datasetName: string, params: unknown, device: DeviceSettings): Prediction {
  const { model, moduleName, device: runtime, fs, ranges, probeMs, refMs } = sel;
  const m = getModule(moduleName);
  const p = validateParams(m, params);
  const row = featureRow(m, p, device);
  let ms: number;
  try {
    ms = model.predict([fs.encode(row)])[0]!;
  } catch (e) {
    // a damaged stored model can pass the load-time probe and fail on another configuration
    throw new UserError(`the stored ${model.kind} model cannot predict this configuration (${(e as Error).message}); retrain it with 'latencylab train --dataset ${datasetName}'`, `dataset '${datasetName}'`);
  }
  if (!Number.isFinite(ms)) throw new UserError(`the stored ${model.kind} model predicts ${ms} ms; retrain it with 'latencylab train --dataset ${datasetName}'`, `dataset '${datasetName}'`);
  return { ms, kind: model.kind, extrapolated: extrapolation(ranges, p, device), device: runtime, module: moduleName, ...(probeMs ? { probeMs } : {}), ...(refMs ? { refMs } : {}) };
}

/** a model's prediction for the module's default configuration, 1 thread, no load: the sanity probe */
function referencePrediction(model: Regressor, fs: FeatureSpace, m: ReturnType<typeof getModule>): number {
  return model.predict([fs.encode(featureRow(m, referenceParams(m), { threads: 1, loadWorkers: 0, loadDuty: 0 }))])[0]!;
}
