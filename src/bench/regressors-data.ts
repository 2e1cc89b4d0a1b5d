/**
 * The measured data behind bench:regressors, profiled into its own store (resumable: a phase that
 * is complete costs nothing, a killed one continues where it stopped).
 *
 * Per device setting: a training dataset (seed 1), a test dataset profiled in a separate run with
 * another seed (seed 2), and a re-measurement of part of the test configurations in a still later
 * run (the noise floor). Run alone on the machine: it takes real latency figures.
 *
 *   node dist/bench/regressors-data.js [phase ...]    phases: train:<setting> test:<setting> recheck (also re-measures training configurations: retrain-*)
 *   BENCH_MODULES=maxpool,avgpool node dist/bench/regressors-data.js train:t1    a subset of the modules
 */
import path from 'node:path';
import { progressHooks } from '../cli/progress.js';
import { stopOnSigint } from '../cli/args.js';
import { getModule, MODULES } from '../modules/index.js';
import { profile } from '../profile/profiler.js';
import { defaultSpace, type Space } from '../profile/space.js';
import { Store } from '../store/db.js';
import { runBenchJob } from './run-job.js';
import { UserError } from '../util/errors.js';

export interface BenchSetting {
  id: string;
  label: string;
  device: string;
  threads: number;
  load: { workers: number; duty: number };
  /**
   * samples per module in the training, test and re-measured datasets; `more`: a second training
   * run (another seed, profiled after the first) for a module whose accuracy still grows with the
   * number of configurations — conv2d on 1 thread (scripts/conv2d-curve-study.mjs, session 48)
   */
  sizes(module: string): { train: number; test: number; recheck: number; more?: number };
}

const conv = (m: string, a: number, b: number) => (m === 'conv2d' ? a : b);

/** t1 has the default dataset sizes; the other settings are smaller (profiling time) */
export const BENCH_SETTINGS: readonly BenchSetting[] = [
  { id: 't1', label: 'ort-cpu, 1 thread', device: 'ort-cpu', threads: 1, load: { workers: 0, duty: 0 }, sizes: (m) => ({ train: conv(m, 2000, 500), test: conv(m, 300, 120), recheck: conv(m, 160, 80), ...(m === 'conv2d' ? { more: 4000 } : {}) }) },
  { id: 't2', label: 'ort-cpu, 2 threads', device: 'ort-cpu', threads: 2, load: { workers: 0, duty: 0 }, sizes: (m) => ({ train: conv(m, 200, 100), test: conv(m, 80, 40), recheck: 20 }) },
  { id: 'load', label: 'ort-cpu, 1 thread, 1 background worker at 50 %', device: 'ort-cpu', threads: 1, load: { workers: 1, duty: 0.5 }, sizes: (m) => ({ train: conv(m, 200, 100), test: conv(m, 80, 40), recheck: 20 }) },
  { id: 'wasm', label: 'ort-wasm (onnxruntime-web, 1 thread)', device: 'ort-wasm', threads: 1, load: { workers: 0, duty: 0 }, sizes: (m) => ({ train: conv(m, 200, 100), test: conv(m, 80, 40), recheck: 20 }) },
];

export const benchDbPath = () => process.env.LATENCYLAB_BENCH_DB ?? path.resolve('.latencylab', 'regressors.db');
export const datasetName = (role: 'train' | 'more' | 'test' | 'recheck' | 'retrain', setting: string, module: string) => `${role}-${setting}/${module}`;

export function settingSpace(s: BenchSetting, module: string): Space {
  const space = defaultSpace(getModule(module));
  space.device = { threads: [s.threads], optLevel: ['all'], load: [s.load] };
  return space;
}

function getSetting(id: string): BenchSetting {
  const s = BENCH_SETTINGS.find((x) => x.id === id);
  if (!s) throw new UserError(`unknown setting '${id}', expected one of ${BENCH_SETTINGS.map((x) => x.id).join(', ')}`, 'phase');
  return s;
}

/**
 * every chunk is timed with the machine probe before it and the module's reference configuration
 * inside it: the machine state at the time, so runs made minutes apart can be put on one scale
 */
const MACHINE_STATE = { probe: true, reference: true } as const;

/**
 * Measurement passes of the 1-thread training datasets (profile --passes; 1 elsewhere): the
 * lowest of two measurements for the cheap elementwise modules whose training runs a slow phase
 * of the host spoiled, chosen on validation data (`node scripts/passes-study.mjs`, session 26:
 * softmax and layernorm gained at the same measuring time, convolutions lost).
 */
export const TRAINING_PASSES: Readonly<Record<string, number>> = { softmax: 2, layernorm: 2 };
export const trainingPasses = (setting: string, module: string) => (setting === 't1' ? TRAINING_PASSES[module] ?? 1 : 1);

/** the seed of the second training run (1: training, 2: test, 3: re-measurements) */
export const MORE_SEED = 4;

/** the modules a bench run covers: all, or the subset named by BENCH_MODULES (unknown names refused) */
export function benchModules(): string[] {
  const names = process.env.BENCH_MODULES ? process.env.BENCH_MODULES.split(',') : MODULES.map((m) => m.name);
  names.forEach((m) => getModule(m));
  return names;
}

/** the device settings a bench report covers: all, or those named by BENCH_SETTINGS (unknown ids refused) */
export function benchSettingIds(): string[] {
  const ids = process.env.BENCH_SETTINGS ? process.env.BENCH_SETTINGS.split(',') : BENCH_SETTINGS.map((s) => s.id);
  const unknown = ids.find((id) => !BENCH_SETTINGS.some((s) => s.id === id));
  if (unknown !== undefined) throw new UserError(`unknown setting '${unknown}', expected some of ${BENCH_SETTINGS.map((s) => s.id).join(', ')}`, 'BENCH_SETTINGS');
  return ids;
}

export const ALL_PHASES = [...BENCH_SETTINGS.flatMap((s) => [`train:${s.id}`, `test:${s.id}`]), 'recheck'];

/** Profiles the given phases (all by default); returns false when stopped by Ctrl-C. */
export async function collect(store: Store, phases: string[] = ALL_PHASES, modules = MODULES.map((m) => m.name)): Promise<boolean> {
  const sigint = stopOnSigint();
  try {
    for (const phase of phases) {
      const [role, id] = phase.split(':') as [string, string | undefined];
      if (role === 'recheck') {
        for (const s of BENCH_SETTINGS) {
          for (const m of modules) {
            // 'recheck': first test configurations again (the noise floor); 'retrain': first training
            // configurations again (validation data for choosing how measurements are put at one
            // machine state — never the test configurations)
            for (const [role, of] of [['recheck', 'test'], ['retrain', 'train']] as const) {
              const first = store.getDataset(datasetName(of, s.id, m));
              if (!first) continue; // that run of the setting has not happened yet
              const plan = store.plannedConfigs(first.id).slice(0, s.sizes(m).recheck);
              const name = datasetName(role, s.id, m);
              if (!(await run(store, { module: m, device: s.device, samples: plan.length, name, seed: 3, space: settingSpace(s, m), plan, ...MACHINE_STATE }, sigint.flag))) return false;
            }
          }
        }
        continue;
      }
      if (role !== 'train' && role !== 'test') throw new UserError(`unknown phase '${phase}', expected one of ${ALL_PHASES.join(', ')}`, 'phase');
      const s = getSetting(id ?? '');
      for (const m of modules) {
        const n = s.sizes(m)[role];
        const name = datasetName(role, s.id, m);
        const passes = role === 'train' ? trainingPasses(s.id, m) : 1;
        if (!(await run(store, { module: m, device: s.device, samples: n, name, seed: role === 'train' ? 1 : 2, space: settingSpace(s, m), passes, ...MACHINE_STATE }, sigint.flag))) return false;
        const more = role === 'train' ? s.sizes(m).more : undefined;
        if (more && !(await run(store, { module: m, device: s.device, samples: more, name: datasetName('more', s.id, m), seed: MORE_SEED, space: settingSpace(s, m), passes, ...MACHINE_STATE }, sigint.flag))) return false;
      }
    }
    return true;
  } finally {
    sigint.release();
  }
}

async function run(store: Store, req: Parameters<typeof profile>[1] & { name: string }, flag: { stop: boolean }): Promise<boolean> {
  const hooks = progressHooks(req.name, flag);
  const r = await profile(store, req, hooks);
  hooks.finish();
  const slow = r.slowChunks;
  if (slow.retried) process.stderr.write(`${req.name}: the host was in its slow state — chunks measured again ${slow.retried} times, ${slow.keptSlow} kept slow\n`);
  return !r.stopped;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const store = new Store(benchDbPath());
  runBenchJob(store, () => collect(store, process.argv.slice(2).length ? process.argv.slice(2) : ALL_PHASES, benchModules()));
}
