import { FAMILIES, generateModel, modelBytes } from '../modelgen/index.js';
import { environmentOf } from '../profile/profiler.js';
import { measureModel } from '../profile/model-timing.js';
import { getRuntime } from '../runtimes/index.js';
import type { Store } from '../store/db.js';
import { Rng } from '../util/random.js';
import { fitCalibration, saveCalibration, type Calibration, type CalibrationVariant } from './calibration.js';
import { modelFromBytes, type ModelFile } from './model-file.js';
import { settingKey, WholeModelPredictor, type WholeModelSetting } from './predictor.js';

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
        name: `${f.name}-${seed}`,
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

/** seeds of the calibration networks: disjoint from bench:models' test (1–30) and validation (2001+) sets */
export const CALIBRATION_FIRST_SEED = 1001;

/**
 * Measures the models of a collection that the store does not have yet (resumable), in a
 * shuffled order so that a slow phase of the machine does not hit one family. False when stopped.
 */
export async function measureInto(
  store: Store,
  setting: WholeModelSetting,
  collection: string,
  models: readonly LazyModel[],
  o: { stop?: { stop: boolean }; onProgress?(done: number, total: number): void } = {},
): Promise<boolean> {
  const key = settingKey(setting);
  const done = new Set(store.modelRuns(collection, key).map((r) => r.model));
  const todo = models.filter((m) => !done.has(m.name));
  const rng = new Rng(collection.length * 31 + setting.threads);
  for (let i = todo.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [todo[i], todo[j]] = [todo[j]!, todo[i]!];
  }
  const envId = store.environmentId(await environmentOf(getRuntime(setting.device)));
  for (const [i, m] of todo.entries()) {
    if (o.stop?.stop) return false;
    const mf = m.load();
    const r = await measureModel(mf.bytes, mf.inputs, setting.device, setting.threads);
    store.saveModelRun({ collection, model: m.name, deviceKey: key, createMs: r.createMs, latencyMs: r.stats.latencyMs, stats: r.stats }, envId);
    o.onProgress?.(done.size + i + 1, done.size + todo.length);
  }
  return true;
}

/** Fits the calibration of a setting on the measured models of a collection and stores it. */
export function fitStoredCalibration(store: Store, setting: WholeModelSetting, collection: string, models: readonly LazyModel[], variant: CalibrationVariant = 'groups'): Calibration {
  const predictor = WholeModelPredictor.open(store, setting);
  const measured = new Map(store.modelRuns(collection, settingKey(setting)).map((r) => [r.model, r.latencyMs]));
  const rows = models
    .filter((m) => measured.has(m.name))
    .map((m) => ({ kernels: predictor.kernelPredictions(m.load().imported), measuredMs: measured.get(m.name)! }));
  const c = fitCalibration(rows, variant);
  saveCalibration(store, settingKey(setting), c);
  return c;
}
