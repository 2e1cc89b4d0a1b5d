/**
 * The kernel predictors behind bench:models: every module a whole-model prediction maps kernels
 * to, profiled over spaces wide enough for the generated networks (stems with 3 input channels,
 * 1×1 feature maps in squeeze-excite, 1,000+ channels in expanded MobileNet blocks), then trained.
 * Profiled into the bench's own store (resumable; a complete phase costs nothing).
 * Run alone on the machine: it takes real latency figures.
 *
 *   node dist/bench/models-data.js [setting ...]     settings: t1 t2 wasm (default all)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stopOnSigint } from '../cli/args.js';
import { progressHooks } from '../cli/progress.js';
import { getModule } from '../modules/index.js';
import type { Domain } from '../modules/types.js';
import { profile } from '../profile/profiler.js';
import { defaultSpace, DEFAULT_MAX_BYTES, type Space } from '../profile/space.js';
import { trainAndSelect } from '../select/autoselect.js';
import { Store } from '../store/db.js';
import { runBenchJob } from './run-job.js';
import { UserError } from '../util/errors.js';

export interface ModelBenchSetting {
  id: string;
  label: string;
  device: string;
  threads: number;
  /** share of the sample counts below (wasm is ~13× slower per run) */
  scale: number;
}

export const MODEL_SETTINGS: readonly ModelBenchSetting[] = [
  { id: 't1', label: 'ort-cpu, 1 thread', device: 'ort-cpu', threads: 1, scale: 1 },
  { id: 't2', label: 'ort-cpu, 2 threads', device: 'ort-cpu', threads: 2, scale: 1 },
  { id: 'wasm', label: 'ort-wasm (onnxruntime-web, 1 thread)', device: 'ort-wasm', threads: 1, scale: 0.5 },
];

const CH: number[] = [8, 12, 16, 24, 32, 40, 48, 64, 72, 96, 120, 128, 144, 160, 192, 240, 256, 320, 384, 480, 512];
const WIDE_CH: number[] = [...CH, 576, 672, 768, 960, 1024, 1280];

/**
 * module → (samples at scale 1, parameter domains wider than the module's default space, and cost
 * limits where the default ones would cut off kernels real networks run).
 *
 * Spatial domains reach 320²: stems of 224² inputs, U-Nets' first stages and PP-OCRv4 det's
 * 160–320² maps were otherwise predicted from the nearest trained size scaled by work (half of
 * det's predicted time on 1 thread, reports/models-history.md, session 37). Sample counts grow with
 * the log-range so the density over the old range stays about the same.
 */
export const KERNEL_SPACES: Record<string, { samples: number; params: Record<string, Domain>; limits?: Partial<Space['limits']> }> = {
  // det's 3×3 convs at 160² with 96 channels in are 5.3e8 MACs: past the default 3e8 limit
  conv2d: { samples: 600, params: { batch: [1], hw: { min: 1, max: 320, log: true }, cin: [2, 3, 4, ...CH], cout: [2, 4, ...CH], k: [1, 1, 3, 3, 5, 7], stride: [1, 1, 2], groups: [1, 1, 1, 1, 2, 4], pad: ['same'] }, limits: { maxMacs: 1.2e9, maxBytes: 2 * DEFAULT_MAX_BYTES } },
  dwconv: { samples: 300, params: { batch: [1], hw: { min: 2, max: 320, log: true }, c: WIDE_CH, k: [3, 5, 7], stride: [1, 2] }, limits: { maxBytes: 2 * DEFAULT_MAX_BYTES } },
  linear: { samples: 250, params: { batch: [1], rows: [1, 1, 16, 32, 49, 64, 128, 196, 256], in: { min: 16, max: 2048, step: 16, log: true }, out: { min: 16, max: 2048, step: 16, log: true } } },
  // decoder upsampling: PP-OCRv4 det's head runs two, at 160² and 320² inputs, the second down to one
  // channel (a mask), so few output channels and large maps are drawn more often than the conv domains do
  convtranspose: { samples: 200, params: { batch: [1], hw: { min: 4, max: 320, log: true }, cin: CH, cout: [1, 1, 2, 3, 4, ...CH], k: [2, 2, 3, 4], stride: [2, 2, 2, 1], groups: [1] } },
  matmul: { samples: 150, params: { batch: { min: 1, max: 16, log: true }, m: { min: 8, max: 256, step: 8, log: true }, k: { min: 8, max: 256, step: 8, log: true }, n: { min: 8, max: 256, step: 8, log: true } } },
  maxpool: { samples: 100, params: { batch: [1], hw: { min: 4, max: 320, log: true }, c: CH, k: [2, 3], stride: [1, 2] } },
  avgpool: { samples: 75, params: { batch: [1], hw: { min: 4, max: 320, log: true }, c: CH, k: [2, 3], stride: [1, 2] } },
  globalavgpool: { samples: 110, params: { batch: [1], hw: { min: 1, max: 320, log: true }, c: WIDE_CH } },
  // elementwise ops: trained up to 320² since session 28 (reports/models-history.md)
  add: { samples: 150, params: { batch: [1], hw: { min: 1, max: 320, log: true }, c: WIDE_CH } },
  activation: { samples: 200, params: { batch: [1], hw: { min: 1, max: 320, log: true }, c: WIDE_CH } },
  concat: { samples: 100, params: { batch: [1], hw: { min: 2, max: 320, log: true }, c: CH, inputs: [2, 3, 4] } },
  softmax: { samples: 80, params: { batch: { min: 1, max: 16, log: true }, rows: { min: 8, max: 256, step: 8, log: true }, cols: { min: 8, max: 1024, step: 8, log: true } } },
  layernorm: { samples: 80, params: { batch: [1], seq: { min: 1, max: 256, log: true }, hidden: { min: 32, max: 768, step: 32, log: true } } },
  // recurrent layers (no generated family has one: scripts/unmodelled-ops-check.mjs checks them end to end)
  lstm: { samples: 120, params: { batch: [1], seq: { min: 2, max: 128, log: true }, input: { min: 16, max: 512, step: 16, log: true }, hidden: { min: 16, max: 512, step: 16, log: true }, directions: [1, 2] } },
};

export const KERNEL_MODULES = Object.keys(KERNEL_SPACES);

/** fast RM kinds: the neural ones add minutes per module for a point or two (reports/regressors.md) */
export const KERNEL_RM_KINDS = ['loglinear', 'poly2', 'knn', 'gbt', 'forest'];

export const modelsDbPath = () => process.env.LATENCYLAB_BENCH_DB ?? path.resolve('.latencylab', 'models.db');

/**
 * The bench store for a study script that only reads it: a missing one is said in one line (exit 2)
 * instead of being created empty where it was expected (a run that then fails on missing predictors).
 */
export function existingModelsStore(): Store {
  if (!existsSync(modelsDbPath())) {
    console.error(`${modelsDbPath()}: no bench store (run npm run bench:models, or set LATENCYLAB_BENCH_DB)`);
    process.exit(2);
  }
  return new Store(modelsDbPath());
}
/** dataset naming the whole-model predictor finds: `<module>@<device>` with the thread count */
export const kernelDataset = (s: ModelBenchSetting, module: string) => `${module}@${s.device}/t${s.threads}`;

export function kernelSpace(s: ModelBenchSetting, module: string): Space {
  const space = defaultSpace(getModule(module));
  Object.assign(space.params, KERNEL_SPACES[module]!.params);
  Object.assign(space.limits, KERNEL_SPACES[module]!.limits);
  space.device = { threads: [s.threads], optLevel: ['all'], load: [{ workers: 0, duty: 0 }] };
  return space;
}

export function getModelSetting(id: string): ModelBenchSetting {
  const s = MODEL_SETTINGS.find((x) => x.id === id);
  if (!s) throw new UserError(`unknown setting '${id}', expected one of ${MODEL_SETTINGS.map((x) => x.id).join(', ')}`, 'setting');
  return s;
}

/** Profiles and trains every kernel dataset of the settings; false when stopped by Ctrl-C. */
export async function collectKernels(store: Store, settings: readonly ModelBenchSetting[]): Promise<boolean> {
  const sigint = stopOnSigint();
  try {
    for (const s of settings) {
      for (const m of KERNEL_MODULES) {
        const name = kernelDataset(s, m);
        const samples = Math.max(30, Math.round(KERNEL_SPACES[m]!.samples * s.scale));
        const hooks = progressHooks(name, sigint.flag);
        const req = { module: m, device: s.device, samples, name, seed: 11, space: kernelSpace(s, m), probe: true };
        // a dataset profiled over an older space is replaced, not resumed
        const r = await profile(store, req, hooks).catch((e: Error) => (/different/.test(e.message) ? profile(store, { ...req, fresh: true }, hooks) : Promise.reject(e)));
        hooks.finish();
        if (r.stopped) return false;
        const ds = store.requireDataset(name);
        if (!store.selectedModel(ds.id)) {
          const t0 = performance.now();
          // each chunk's own probe: a window lost on the calibration and validation networks (reports/models-history.md, session 22)
          const sel = await trainAndSelect(store, name, { kinds: KERNEL_RM_KINDS, objective: 'balanced', stateMethod: { source: 'probe', windowS: 0 } });
          console.error(`${name}: trained ${sel.selected} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        }
      }
    }
    return true;
  } finally {
    sigint.release();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ids = process.argv.slice(2);
  const settings = ids.length ? ids.map(getModelSetting) : MODEL_SETTINGS;
  const store = new Store(modelsDbPath());
  runBenchJob(store, () => collectKernels(store, settings));
}
