#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { positiveInt, positiveNumber, stopOnSigint } from './args.js';
import { MODULES, getModule } from '../modules/index.js';
import { isRange } from '../modules/types.js';
import { defaultDatasetName, MAX_PASSES, measureConfig, profile, referenceParams } from '../profile/profiler.js';
import { DEFAULT_QUIET_GATE } from '../profile/quiet-gate.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import { SAMPLERS, type SamplerName } from '../profile/sampler.js';
import {
  applyDeviceOverrides,
  defaultSpace,
  loadSpaceFile,
  OPT_LEVELS,
  parseIntListArg,
  parseLoadArg,
  type OptLevel,
} from '../profile/space.js';
import { DEVICES, getRuntime } from '../runtimes/index.js';
import { predictConfig, trainAndSelect, type Prediction } from '../select/autoselect.js';
import { MachineProbe } from '../profile/probe.js';
import { parseObjective, selectionAccuracy, TOLERANCE } from '../select/policy.js';
import { methodLabel, parseStateMethod } from '../select/machine-state.js';
import { CV_BELOW_VAL_ROWS, CV_FOLDS, parseCvFolds } from '../select/candidates.js';
import { profileAdaptive } from '../select/adaptive-profile.js';
import { REGRESSORS } from '../regressors/index.js';
import { defaultDbPath, Store } from '../store/db.js';
import { datasetRows, toCsv } from '../store/export.js';
import { UserError, isUserError } from '../util/errors.js';
import { runDemo } from './demo.js';
import { registerTransferCommands } from './transfer-cmds.js';
import { registerCacheCommands } from './cache-cmds.js';
import { registerScaleCommands } from './scale-cmds.js';
import { enqueueForFleet, listFleetDatasets, pullForCommand, registerFleetCommands } from './fleet-cmds.js';
import { collect, DIM_HELP, INPUT_SHAPE_HELP, predictModelFile, registerModelCommands } from './model-cmds.js';
import { progressHooks } from './progress.js';
import { formatTable } from './table.js';

const program = new Command();
program
  .name('latencylab')
  .description('Profile DNN modules on real runtimes, learn their latency, predict before running.')
  .option('--db <file>', 'SQLite store', defaultDbPath())
  .showHelpAfterError('(add --help for usage)')
  // option/argument errors (which name the option) come back here, so that they exit 2 like every
  // other input error instead of commander's 1
  .exitOverride();

const openStore = () => new Store(program.opts<{ db: string }>().db);


program
  .command('modules')
  .description('list the modules that can be profiled, with their parameters and default space')
  .action(() => {
    for (const m of MODULES) {
      console.log(`${m.name}: ${m.description}`);
      for (const p of m.params) {
        const d = p.default;
        const dom = isRange(d) ? `${d.min}..${d.max}${d.step && d.step > 1 ? ` step ${d.step}` : ''}${d.log ? ' (log)' : ''}` : `[${[...new Set(d)].join(', ')}]`;
        console.log(`    ${p.name.padEnd(10)} ${dom.padEnd(28)} ${p.doc}`);
      }
    }
  });

program
  .command('devices')
  .description('list the devices (runtime + settings) this machine can measure on')
  .action(async () => {
    const rows = [];
    for (const d of DEVICES) {
      const rt = getRuntime(d);
      const info = await rt.info();
      rows.push([d, `${info.runtime} ${info.version}`, info.executionProvider, rt.threadChoices ? rt.threadChoices.join('/') : 'any', rt.description]);
    }
    console.log(formatTable(['device', 'runtime', 'EP', 'threads', 'description'], rows));
  });

program
  .command('profile')
  .description('measure a module over a parameter space on a device and store every sample (resumable)')
  .requiredOption('-m, --module <name>', `module to profile (${MODULES.map((m) => m.name).join(', ')})`)
  .option('-d, --device <name>', `device (${DEVICES.join(', ')})`, 'ort-cpu')
  .option('-n, --samples <n>', 'configurations to measure', positiveInt, 100)
  .option('-s, --space <file>', 'JSON space file (module params + device params)')
  .addOption(new Option('--sampler <name>', 'how configurations are drawn').choices([...SAMPLERS]).default('random'))
  .option('--seed <n>', 'seed of the sampler and measurement order', positiveInt, 1)
  .option('-t, --threads <list>', 'intra-op threads, e.g. 1 or 1,2 or 1-4 (overrides the space file)')
  .option('--opt-level <list>', `graph optimisation levels, comma-separated (${OPT_LEVELS.join(', ')})`)
  .option('--load <list>', 'background load levels workers@duty, e.g. 0,1@0.5,2@1 (overrides the space file)')
  .option('--name <name>', 'dataset name (default <module>@<device>)')
  .option('--fresh', 'replace an existing dataset of that name instead of resuming it')
  .option('--max-time-ms <ms>', 'time cap per configuration', positiveInt)
  .option('--min-repeats <n>', 'timed runs per configuration at least', positiveInt)
  .option('--reference', "time the module's reference configuration in every chunk and store it with each sample (ref_ms): the machine state, to compare runs")
  .option('--no-quiet-gate', `with --reference: keep a chunk whose reference ran in the host's slow state instead of measuring it again (up to ${DEFAULT_QUIET_GATE.retries} times)`)
  .option('--probe', 'time the machine probe (a fixed small network) before every chunk and store it with each sample (probe_ms): training then learns latency at one machine state — use it on shared machines and for whole-model prediction')
  .option('--passes <n>', `measure every configuration n times (1–${MAX_PASSES}), each later pass over the whole plan in its own order; a sample's latency is its quietest pass — a slow phase of a shared host lasts minutes and slows small kernels more than the probe shows (more passes can be added to a stored dataset later)`, positiveInt, 1)
  .option('--adaptive <budget>', 'adaptive sampling: after --samples random configurations, add --step per round near where the model errs, up to this many', positiveInt)
  .option('--step <n>', 'configurations per adaptive round', positiveInt, 100)
  .option('--fleet', 'queue the configurations for the agents of a fleet store instead of measuring here (needs --store)')
  .option('--store <url>', 'fleet store: postgres://user:password@host:5432/db (with --fleet)')
  .action(async (o) => {
    const m = getModule(o.module);
    getRuntime(o.device);
    const base = o.space ? loadSpaceFile(o.space, m) : defaultSpace(m);
    const space = applyDeviceOverrides(base, {
      threads: o.threads ? parseIntListArg(o.threads, '--threads') : undefined,
      optLevel: o.optLevel ? parseOptLevels(o.optLevel) : undefined,
      load: o.load ? parseLoadArg(o.load) : undefined,
    });
    if (o.fleet || o.store) {
      if (!o.fleet || !o.store) throw new UserError('--fleet and --store go together: the fleet store is where the plan and the jobs go', o.fleet ? '--store' : '--fleet');
      for (const flag of ['adaptive', 'reference', 'probe', 'fresh'] as const) if (o[flag]) throw new UserError(`is not supported with --fleet yet`, `--${flag}`);
      if (o.passes !== 1) throw new UserError('is not supported with --fleet yet', '--passes');
      return enqueueForFleet(o.store, { module: m.name, device: o.device, samples: o.samples, space, sampler: o.sampler as SamplerName, seed: o.seed, name: o.name, timing: { ...(o.maxTimeMs ? { maxTimeMs: o.maxTimeMs } : {}), ...(o.minRepeats ? { minRepeats: o.minRepeats } : {}) } });
    }
    const store = openStore();
    const sigint = stopOnSigint();
    const stopFlag = sigint.flag;
    const name = o.name ?? defaultDatasetName(m.name, o.device);
    const hooks = progressHooks(name, stopFlag);
    try {
      const req = {
        module: m.name,
        device: o.device,
        samples: o.samples,
        space,
        sampler: o.sampler as SamplerName,
        seed: o.seed,
        name,
        fresh: o.fresh,
        reference: o.reference,
        probe: o.probe,
        passes: o.passes,
        ...(o.quietGate === false ? { quietGate: false as const } : {}),
        timing: { ...(o.maxTimeMs ? { maxTimeMs: o.maxTimeMs } : {}), ...(o.minRepeats ? { minRepeats: o.minRepeats } : {}) },
      };
      const r = o.adaptive
        ? await profileAdaptive(store, req, o.adaptive, o.step, hooks, (s) => process.stderr.write(`${s}\n`))
        : await profile(store, req, hooks);
      hooks.finish();
      const rate = r.measuredNow / Math.max(r.elapsedMs / 60_000, 1e-9);
      console.log(
        `${r.dataset.name}: ${r.alreadyStored + r.measuredNow}/${r.measurements} ${r.passes > 1 ? `measurements (${r.planned} configurations × ${r.passes} passes; a sample's latency is its quietest pass)` : 'samples'} stored in ${store.file}` +
          ` (${r.measuredNow} measured now, ${rate.toFixed(0)}/min${r.rejectedConfigs ? `, ${r.rejectedConfigs} impossible configs skipped` : ''})`,
      );
      const slow = r.slowChunks;
      if (slow.retried) console.log(`the host was in its slow state (the reference over ${1 + DEFAULT_QUIET_GATE.tolerance}× its quietest): chunks measured again ${slow.retried} times${slow.keptSlow ? `, ${slow.keptSlow} chunks kept slow after every retry` : ''}`);
      if (r.stopped) process.exitCode = 130;
    } finally {
      hooks.finish();
      sigint.release();
      store.close();
    }
  });

program
  .command('profile-default')
  .description('profile the default dataset: conv2d 2,000 samples + 500 of every other module (resumable)')
  .option('-d, --device <name>', `device (${DEVICES.join(', ')})`, 'ort-cpu')
  .option('--scale <x>', 'multiply every sample count (e.g. 0.1 for a quick look)', '1')
  .option('--passes <n>', `measure every configuration n times (1–${MAX_PASSES}), keeping the lowest (see profile --passes)`, positiveInt, 1)
  .action(async (o) => {
    const scale = Number(o.scale);
    if (!(scale > 0)) throw new UserError(`expected a number > 0, got '${o.scale}'`, '--scale');
    getRuntime(o.device);
    const store = openStore();
    const sigint = stopOnSigint();
    const stopFlag = sigint.flag;
    const started = performance.now();
    const rows: Array<Array<string | number>> = [];
    try {
      for (const m of MODULES) {
        if (stopFlag.stop) break;
        const n = Math.max(1, Math.round((m.name === 'conv2d' ? 2000 : 500) * scale));
        const name = `default-${m.name}@${o.device}`;
        const hooks = progressHooks(name, stopFlag);
        const r = await profile(store, { module: m.name, device: o.device, samples: n, name, seed: 1, passes: o.passes }, hooks);
        hooks.finish();
        rows.push([name, r.alreadyStored + r.measuredNow, r.measuredNow, r.elapsedMs / 1000]);
      }
    } finally {
      sigint.release();
      store.close();
    }
    console.log(formatTable(['dataset', o.passes > 1 ? `measurements (${o.passes} passes)` : 'samples', 'measured now', 'seconds'], rows));
    console.log(`total ${((performance.now() - started) / 60_000).toFixed(1)} min`);
    if (stopFlag.stop) process.exitCode = 130;
  });

program
  .command('datasets')
  .description('list the stored datasets')
  .option('--store <url>', 'list the datasets of a fleet store (postgres://…) instead')
  .action(async (o) => {
    if (o.store) return listFleetDatasets(o.store);
    const store = openStore();
    const rows = store.listDatasets().map((d) => [d.name, d.module, d.device, d.sampler, d.measured, d.planned, d.created_at.slice(0, 19)]);
    console.log(rows.length ? formatTable(['name', 'module', 'device', 'sampler', 'measured', 'planned', 'created'], rows) : `no datasets in ${store.file}`);
    store.close();
  });

program
  .command('export')
  .description('export a dataset (every sample with features, timing stats and environment)')
  .requiredOption('--dataset <name>', 'dataset name')
  .addOption(new Option('--format <f>', 'output format').choices(['csv', 'json']).default('csv'))
  .option('-o, --out <file>', 'write to a file instead of stdout')
  .option('--store <url>', 'a fleet store (postgres://…): its dataset is pulled into the local store first')
  .action(async (o) => {
    const store = openStore();
    if (o.store) await pullForCommand(o.store, store, [o.dataset]);
    const rows = datasetRows(store, o.dataset);
    store.close();
    const text = o.format === 'csv' ? toCsv(rows) : JSON.stringify(rows, null, 1) + '\n';
    if (o.out) {
      writeFileSync(o.out, text);
      console.error(`${rows.length} samples written to ${o.out}`);
    } else process.stdout.write(text);
  });

program
  .command('train')
  .description('train every regression model on a dataset (80 % train / 20 % validation) and auto-select one by an objective')
  .requiredOption('--dataset <name>', 'dataset name')
  .option('--seed <n>', 'split / model seed', positiveInt, 1)
  .option('--objective <o>', `accuracy | time | space | balanced: best validation ±10 % accuracy, or the fastest / smallest / both within ${TOLERANCE * 100} point of it`, 'balanced')
  .option('--max-predict-us <us>', 'hard limit on prediction time per configuration (µs)', positiveNumber)
  .option('--max-bytes <n>', 'hard limit on the stored model size (bytes)', positiveInt)
  .option('--kinds <list>', `regression models to train (default all: ${REGRESSORS.map((k) => k.kind).join(',')})`)
  .option('--related <datasets>', 'datasets of the same module on other device settings, learned by MEDN as extra tasks')
  .option('--include <datasets>', 'train one model on this dataset and these (same module and device, other threads / load settings): the settings become inputs')
  .option('--no-kernel-features', 'leave out the hardware-aware kernel features (vector-width padding, cache fits)')
  .option('--machine-state <m>', "how samples profiled with --probe / --reference are put at one machine state: auto (chosen on the validation split), raw, probe[:seconds], reference[:seconds] (the signal's median within ± that window)", 'auto')
  .option('--cv-folds <k>', `choose on k-fold cross-validation over every sample (the stored models stay those fitted on the 80 %): auto (${CV_FOLDS} folds when the validation split has under ${CV_BELOW_VAL_ROWS} samples), 0 (on the validation split), or k >= 2`, 'auto')
  .option('--store <url>', 'a fleet store (postgres://…): the datasets are pulled into the local store first')
  .action(async (o) => {
    const objective = parseObjective(o.objective);
    const stateMethod = parseStateMethod(o.machineState);
    const cvFolds = parseCvFolds(o.cvFolds);
    const store = openStore();
    try {
      if (o.store) await pullForCommand(o.store, store, [o.dataset, ...(o.related ? String(o.related).split(',') : []), ...(o.include ? String(o.include).split(',') : [])]);
      const r = await trainAndSelect(store, o.dataset, {
        seed: o.seed,
        objective,
        limits: { maxPredictUs: o.maxPredictUs, maxBytes: o.maxBytes },
        kinds: o.kinds ? String(o.kinds).split(',') : undefined,
        related: o.related ? String(o.related).split(',') : undefined,
        include: o.include ? String(o.include).split(',') : undefined,
        kernelFeatures: o.kernelFeatures,
        stateMethod,
        cvFolds,
        onProgress: (k) => process.stderr.write(k === 'machine state' ? 'choosing how to put the samples at one machine state…\n' : k.startsWith('cross-validation') ? `${k}…\n` : `training ${k}…\n`),
      });
      const cv = r.cvFolds >= 2;
      console.log(
        cv
          ? `${r.dataset}: trained on ${r.trainSize}, chosen on ${r.cvFolds}-fold cross-validation over all ${r.trainSize + r.valSize} samples (objective ${r.objective}; a validation split of ${r.valSize} is too few to tell the models apart)`
          : `${r.dataset}: trained on ${r.trainSize}, chosen on ${r.valSize} validation samples (objective ${r.objective})`,
      );
      const st = r.machineState;
      if (st.candidates.length) {
        const best = st.candidates.find((c) => c.method === st.method)!;
        const raw = st.candidates.find((c) => c.method.source === 'raw')!;
        console.log(`machine state: ${methodLabel(st.method)} (quick RMs' validation ±10 % ${(100 * best.val10).toFixed(1)} % vs ${(100 * raw.val10).toFixed(1)} % as measured; ${st.candidates.length} methods tried)`);
      } else if (stateMethod) console.log(`machine state: ${methodLabel(st.method)} (--machine-state)`);
      console.log(
        formatTable(
          ['model', '±5 %', '±10 %', 'MAPE %', 'RMSPE %', 'R² (log)', ...(cv ? ['split ±10 %'] : []), 'train s', 'predict µs', 'size KB', 'Pareto', 'selected'],
          r.candidates.map((c) => {
            const a = selectionAccuracy(c);
            return [c.kind, a.within5 * 100, a.within10 * 100, a.mape, a.rmspe, a.r2log, ...(cv ? [c.val.within10 * 100] : []), c.trainMs / 1000, c.predictUs, c.sizeBytes / 1024, c.pareto ? '•' : '', c.selected ? '✔' : ''];
          }),
        ),
      );
      console.log(cv ? '(out of fold over the training run, and its validation split; judge accuracy on a separate run: npm run bench:regressors)' : '(validation split of the training run; judge accuracy on a separate run: npm run bench:regressors)');
    } finally {
      store.close();
    }
  });

program
  .command('predict')
  .description("predict a whole ONNX model's latency (total and per layer), or one module configuration with a dataset's selected model")
  .argument('[model]', '.onnx file (whole-model prediction); omit to predict a module configuration with --dataset/--params')
  .option('--dataset <name>', 'module prediction: dataset name')
  .option('--params <json>', 'module prediction: parameters as JSON, e.g. \'{"batch":1,"hw":56,...}\'')
  .option('-d, --device <name>', 'whole-model prediction: device (ort-cpu, ort-wasm)', 'ort-cpu')
  .option('-t, --threads <n>', 'intra-op threads', positiveInt, 1)
  .option('--input-shape <dims>', `whole-model prediction: ${INPUT_SHAPE_HELP}`, collect)
  .option('--dim <name=value>', `whole-model prediction: ${DIM_HELP}`, collect)
  .option('--top <n>', 'whole-model prediction: layers shown', positiveInt, 25)
  .option('--now', "also scale the prediction to the machine's current state (times the machine probe, ~50 ms, or the module's reference configuration when train put the samples at one state by it)")
  .option('--load <level>', 'module prediction: background load workers@duty', '0')
  .option('--json', 'print JSON')
  .action(async (model: string | undefined, o) => {
    if (model !== undefined) {
      if (o.dataset || o.params) throw new UserError('give either a model file or --dataset with --params, not both', 'predict');
      const store = openStore();
      try {
        await predictModelFile(store, model, o);
      } finally {
        store.close();
      }
      return;
    }
    if (!o.dataset || !o.params) throw new UserError("give a model file (latencylab predict model.onnx) or --dataset and --params for one module configuration", 'predict');
    let params: unknown;
    try {
      params = JSON.parse(o.params);
    } catch (e) {
      throw new UserError(`not valid JSON: ${(e as Error).message}`, '--params');
    }
    const store = openStore();
    try {
      const load = parseLoadArg(o.load)[0]!;
      const r = predictConfig(store, o.dataset, params, { threads: o.threads, optLevel: 'all', loadWorkers: load.workers, loadDuty: load.duty });
      const now = o.now ? await atMachineNow(r, o.threads, o.dataset) : undefined;
      if (o.json) console.log(JSON.stringify({ ...r, ...(now ? { now } : {}) }));
      else {
        const state = r.refMs ? `; at the training data's machine state, reference configuration ${r.refMs.toFixed(3)} ms` : r.probeMs ? `; at the training data's machine state, probe ${r.probeMs.toFixed(3)} ms` : '';
        console.log(`${r.ms.toFixed(4)} ms (${r.kind}${state})${r.extrapolated.length ? `  EXTRAPOLATED: ${r.extrapolated.join('; ')}` : ''}`);
        if (now) console.log(`at the machine's state now (${now.refMs ? `reference configuration ${now.refMs.toFixed(3)}` : `probe ${now.probeMs!.toFixed(3)}`} ms): ${now.ms.toFixed(4)} ms`);
      }
    } finally {
      store.close();
    }
  });

registerModelCommands(program, openStore);

/** a module prediction scaled to the machine's state now (`predict --dataset … --now`) */
async function atMachineNow(r: Prediction, threads: number, dataset: string): Promise<{ probeMs?: number; refMs?: number; ms: number }> {
  if (r.refMs) {
    // train put the samples at one state by the module's reference configuration: time it now
    const m = getModule(r.module);
    const device = { threads, optLevel: 'all' as const, loadWorkers: 0, loadDuty: 0 };
    const refMs = (await measureConfig(getRuntime(r.device), m, { params: referenceParams(m), device }, DEFAULT_TIMING)).timing.latencyMs;
    return { refMs, ms: (r.ms * refMs) / r.refMs };
  }
  if (!r.probeMs) throw new UserError(`dataset '${dataset}' was profiled without the machine probe or the reference configuration; profile it with --probe (or --reference) and train again to use --now`, '--now');
  const probeMs = await MachineProbe.now(getRuntime(r.device), threads);
  return { probeMs, ms: (r.ms * probeMs) / r.probeMs };
}

program
  .command('demo')
  .description('profile a small module set on ort-cpu, train and select RMs, predict held-out configs, print a table')
  .option('--samples <n>', 'configurations per module', positiveInt, 200)
  .action(async (o) => {
    await runDemo(program.opts<{ db: string }>().db, o.samples);
  });

registerTransferCommands(program);
registerScaleCommands(program);
registerFleetCommands(program, openStore);
registerCacheCommands(program);

function parseOptLevels(s: string): OptLevel[] {
  const xs = s.split(',').map((x) => x.trim());
  for (const x of xs) if (!OPT_LEVELS.includes(x as OptLevel)) throw new UserError(`'${x}' is not one of ${OPT_LEVELS.join(', ')}`, '--opt-level');
  return xs as OptLevel[];
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // commander has printed the message already; --help and --version end here too, with code 0
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (isUserError(e)) {
    console.error(`latencylab: error: ${e.message}`);
    process.exit(2);
  }
  console.error(`latencylab: internal error: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.LATENCYLAB_DEBUG) console.error(e);
  process.exit(1);
});
