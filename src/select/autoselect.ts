import { getModule } from '../modules/index.js';
import { featureSpace, getRegressorKind, REGRESSORS, type Regressor } from '../regressors/index.js';
import type { Store } from '../store/db.js';
import type { Params } from '../modules/index.js';
import type { DeviceSettings } from '../profile/space.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { mape, quantile, spearman } from '../util/stats.js';

export interface CandidateReport {
  kind: string;
  /** held-out mean absolute percentage error (%) */
  mape: number;
  /** 90th percentile of the held-out absolute percentage error (%) */
  p90ape: number;
  /** share of held-out samples predicted within ±10% */
  within10: number;
  spearman: number;
  trainMs: number;
  /** prediction time per sample, microseconds */
  predictUs: number;
  sizeBytes: number;
  selected: boolean;
}

export interface SelectionResult {
  dataset: string;
  trainSize: number;
  testSize: number;
  candidates: CandidateReport[];
  selected: string;
}

/**
 * Accuracy tolerance of the selection rule: an RM within 10% (relative) or 1 point of the best
 * held-out MAPE counts as "as accurate", and among those the cheapest to run (then smallest) wins.
 */
const REL_TOLERANCE = 1.1;
const ABS_TOLERANCE = 1;

/** Trains every RM kind on a dataset, measures accuracy and cost, stores all, selects one. */
export async function trainAndSelect(store: Store, datasetName: string, opts: { seed?: number; testFraction?: number; kinds?: string[] } = {}): Promise<SelectionResult> {
  const ds = store.requireDataset(datasetName);
  const rows = store.samples(ds.id);
  if (rows.length < 10) throw new UserError(`dataset '${datasetName}' has ${rows.length} samples; at least 10 are needed to train`, 'dataset');
  const fs = featureSpace(getModule(ds.module));
  const rng = new Rng(opts.seed ?? 1);
  const order = rng.shuffle(rows.map((_, i) => i));
  const nTest = Math.max(2, Math.round(rows.length * (opts.testFraction ?? 0.2)));
  const pick = (idx: number[]) => ({ X: idx.map((i) => fs.encode(rows[i]!)), y: idx.map((i) => rows[i]!.latency_ms) });
  const test = pick(order.slice(0, nTest));
  const train = pick(order.slice(nTest));

  const kinds = opts.kinds?.map(getRegressorKind) ?? REGRESSORS;
  const fitted: Array<{ model: Regressor; report: CandidateReport }> = [];
  for (const k of kinds) {
    const model = k.create(opts.seed ?? 1);
    const t0 = performance.now();
    await model.fit(train.X, train.y);
    const trainMs = performance.now() - t0;
    const pred = model.predict(test.X);
    const ape = pred.map((p, i) => (Math.abs(p - test.y[i]!) / test.y[i]!) * 100);
    fitted.push({
      model,
      report: {
        kind: k.kind,
        mape: mape(pred, test.y),
        p90ape: quantile(ape, 0.9),
        within10: ape.filter((a) => a <= 10).length / ape.length,
        spearman: spearman(pred, test.y),
        trainMs,
        predictUs: predictionTimeUs(model, test.X),
        sizeBytes: JSON.stringify(model.toJSON()).length,
        selected: false,
      },
    });
  }
  const best = Math.min(...fitted.map((f) => f.report.mape));
  const eligible = fitted.filter((f) => f.report.mape <= Math.max(best * REL_TOLERANCE, best + ABS_TOLERANCE));
  eligible.sort((a, b) => a.report.predictUs - b.report.predictUs || a.report.sizeBytes - b.report.sizeBytes);
  const winner = eligible[0]!;
  winner.report.selected = true;
  for (const f of fitted) store.saveModel(ds.id, f.report.kind, f.model.toJSON(), f.report, f === winner);
  return { dataset: datasetName, trainSize: train.y.length, testSize: test.y.length, candidates: fitted.map((f) => f.report), selected: winner.report.kind };
}

/** median over a few passes of the whole test set, per sample */
function predictionTimeUs(model: Regressor, X: number[][]): number {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    model.predict(X);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / X.length);
  }
  return quantile(times, 0.5);
}

/** Loads the selected RM of a dataset. */
export function loadSelected(store: Store, datasetName: string): { model: Regressor; moduleName: string } {
  const ds = store.requireDataset(datasetName);
  const m = store.selectedModel(ds.id);
  if (!m) throw new UserError(`dataset '${datasetName}' has no trained model; run 'latencylab train --dataset ${datasetName}' first`, 'dataset');
  return { model: getRegressorKind(m.kind).load(JSON.parse(m.json)), moduleName: ds.module };
}

/** Predicts the latency of one module configuration with a dataset's selected RM. */
export function predictConfig(store: Store, datasetName: string, params: Params, device: DeviceSettings): { ms: number; kind: string } {
  const { model, moduleName } = loadSelected(store, datasetName);
  const m = getModule(moduleName);
  const c = m.build(params, 1, false).cost;
  const row = {
    params_json: JSON.stringify(params),
    threads: device.threads,
    load_workers: device.loadWorkers,
    load_duty: device.loadDuty,
    macs: c.macs,
    flops: c.flops,
    params: c.params,
    input_bytes: c.inputBytes,
    output_bytes: c.outputBytes,
    weight_bytes: c.weightBytes,
    activation_bytes: c.activationBytes,
    intensity: c.intensity,
    nodes: c.nodes,
  };
  return { ms: model.predict([featureSpace(m).encode(row)])[0]!, kind: model.kind };
}
