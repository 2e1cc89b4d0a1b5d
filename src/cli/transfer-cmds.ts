import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { positiveInt, positiveNumber } from './args.js';
import { defaultDataDir, loadLatencyData, requireDevice, SEARCH_SPACES } from '../data/latency.js';
import { runNas } from '../nas/run.js';
import { loadTfjsWasm } from '../runtimes/tfjs.js';
import { ENCODINGS } from '../transfer/encoding.js';
import { TRUNKS } from '../transfer/model.js';
import { generateTasks } from '../transfer/partition.js';
import { DEVICE_REPS, type PredictorConfig } from '../transfer/predictor.js';
import { SAMPLERS, type SampleSelector } from '../transfer/sampling.js';
import { parseKs, runTransferStudy, summarise } from '../transfer/study.js';
import { getTask, TASKS } from '../transfer/tasks.js';
import { UserError } from '../util/errors.js';
import { formatTable } from './table.js';


/** `tasks`, `transfer` and `nas`: few-shot cross-device prediction over the bundled NAS latency data. */
export function registerTransferCommands(program: Command): void {
  program
    .command('tasks')
    .description('list the published transfer tasks and generate new train/test device partitions')
    .addOption(new Option('--space <name>', 'search space').choices([...SEARCH_SPACES]).default('nb201'))
    .option('--count <n>', 'partitions to generate', positiveInt, 6)
    .option('--test-size <n>', 'test devices per partition', positiveInt, 3)
    .option('--seed <n>', 'seed', positiveInt, 1)
    .option('--json <file>', 'also write the generated tasks as JSON')
    .option('--data <dir>', 'latency data folder', defaultDataDir())
    .action((o) => {
      const data = loadLatencyData(o.space, o.data);
      console.log(`Published tasks (${o.space}):`);
      console.log(formatTable(['task', 'train', 'test'], TASKS.filter((t) => t.space === o.space).map((t) => [t.name, t.train.length, t.test.join(', ')])));
      const gen = generateTasks(data, { count: o.count, testSize: o.testSize, seed: o.seed });
      console.log(`\nGenerated from the device rank-correlation structure (difficulty = mean over test devices of 1 − max ρ to a training device):`);
      console.log(formatTable(['task', 'label', 'difficulty', 'test devices'], gen.map((t) => [t.name, t.label, t.difficulty, t.test.join(', ')])));
      if (o.json) writeFileSync(o.json, JSON.stringify(gen, null, 1));
    });

  program
    .command('transfer')
    .description('pretrain a latency predictor on a task\'s training devices, adapt to each test device from k samples')
    .requiredOption('--task <name>', `task (${TASKS.map((t) => t.name).join(', ')})`)
    .option('--k <list>', 'samples measured on each test device', '5,10,20')
    .option('--seeds <n>', 'sample-selection seeds', positiveInt, 5)
    .option('--device <name>', 'only this test device')
    .addOption(new Option('--trunk <name>', 'predictor architecture').choices([...TRUNKS]).default('mlp'))
    .addOption(new Option('--device-rep <name>', 'device representation').choices([...DEVICE_REPS]).default('learned'))
    .addOption(new Option('--encoding <name>', 'op encoding').choices([...ENCODINGS]).default('onehot'))
    .addOption(new Option('--sampler <name>', 'which archs to measure').choices([...SAMPLERS]).default('stratified'))
    .option('--epochs <n>', 'pretraining epochs', positiveInt)
    .action(async (o) => {
      const task = getTask(o.task);
      const data = loadLatencyData(task.space);
      if (o.device) requireDevice(data, o.device);
      if (o.device && task.train.includes(o.device)) {
        // the predictor is pretrained on that device's latencies: its score would not measure transfer
        throw new UserError(`'${o.device}' is one of ${task.name}'s training devices, so the pretrained predictor has already seen its latencies and a score would not show transfer; pick a test device: ${task.test.join(', ')}`, '--device');
      }
      if (o.device && !task.test.includes(o.device)) {
        throw new UserError(`'${o.device}' is not a test device of ${task.name}; its test devices: ${task.test.join(', ')}`, '--device');
      }
      const tf = await loadTfjsWasm();
      const cfg: Partial<PredictorConfig> = { trunk: o.trunk, deviceRep: o.deviceRep, encoding: o.encoding, ...(o.epochs ? { epochs: o.epochs } : {}) };
      const ks = parseKs(o.k);
      const study = await runTransferStudy(tf, task, cfg, { ks, seeds: [...Array(o.seeds).keys()].map((s) => s + 1), sampler: o.sampler as SampleSelector, devices: o.device ? [o.device] : undefined }, (s) =>
        process.stderr.write(s + '\n'),
      );
      const rows = [];
      for (const device of o.device ? [o.device] : task.test) {
        const row: Array<string | number> = [device];
        for (const k of ks) {
          const runs = study.runs.filter((r) => r.device === device && r.k === k);
          const s = summarise(runs);
          row.push(s.n ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)} (min ${Math.min(...runs.map((r) => r.spearman)).toFixed(2)})` : 'n/a');
        }
        const runs = study.runs.filter((r) => r.device === device);
        const fellBack = runs.filter((r) => r.source !== 'transfer');
        row.push(fellBack.length ? `${fellBack.length}/${runs.length} (${[...new Set(fellBack.map((r) => r.source))].join(', ')})` : `0/${runs.length}`);
        row.push(task.help?.[device] ?? '–');
        rows.push(row);
      }
      console.log(`${task.name}: pretrained on ${task.train.length} devices in ${(study.pretrainMs / 1000).toFixed(1)} s; Spearman mean ± std (worst seed) over ${o.seeds} seeds`);
      console.log(formatTable(['device', ...ks.map((k) => `k=${k}`), 'answered by the guard (not the adapted predictor alone)', 'HELP k=10'], rows));
    });

  program
    .command('nas')
    .description('latency-constrained NAS on a device, with a predictor transferred from a few measurements')
    .addOption(new Option('--space <name>', 'search space (accuracies exist for nb201)').choices([...SEARCH_SPACES]).default('nb201'))
    .requiredOption('--device <name>', 'target device')
    .requiredOption('--budget-ms <ms>', 'latency budget', positiveNumber)
    .option('--samples <k>', 'architectures measured on the device', positiveInt, 10)
    .addOption(new Option('--sampler <name>', 'which archs to measure').choices([...SAMPLERS]).default('stratified'))
    .option('--seed <n>', 'seed', positiveInt, 1)
    .action(async (o) => {
      if (o.space !== 'nb201') throw new UserError(`NAS needs real accuracies, which exist for nb201 only`, '--space');
      const tf = await loadTfjsWasm();
      const r = await runNas(tf, { device: o.device, budgetMs: o.budgetMs, samples: o.samples, sampler: o.sampler, seed: o.seed }, (s) => process.stderr.write(s + '\n'));
      console.log(formatTable(['', 'architecture', 'CIFAR-10 %', 'true latency ms'], [
        ['found', r.found.arch, r.found.accuracy, r.found.trueMs],
        ['best under budget', r.best.arch, r.best.accuracy, r.best.trueMs],
      ]));
      console.log(`budget ${o.budgetMs} ms met: ${r.found.trueMs <= o.budgetMs ? 'yes' : 'NO'}; accuracy gap ${(r.best.accuracy - r.found.accuracy).toFixed(2)} points`);
      console.log(`measured ${r.measurements} archs on ${o.device} (${r.measurements - r.verified} to transfer the predictor, ${r.verified} to verify the final candidates); the search evaluated ${r.evaluated} candidates`);
      console.log(`wall clock: ${(r.oursS).toFixed(1)} s with the predictor vs ${(r.measureAllS).toFixed(1)} s measuring every candidate → ${r.speedup.toFixed(1)}× faster (${r.costModel})`);
    });
}
