/**
 * bench:transfer — few-shot cross-device latency prediction on the bundled HELP data.
 * Writes reports/transfer.md: Spearman/Kendall per test device for k = 5/10/20 over seeds for every
 * task, baselines in the same harness, an ablation over the four design axes, timings, NAS.
 *
 *   npm run bench:transfer          (BENCH_QUICK=1: fewer seeds/epochs, NB201 only)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from '../cli/table.js';
import { machineLabel } from '../profile/environment.js';
import { inSampleCeiling } from '../transfer/ceiling.js';
import { loadLatencyData, requireDevice } from '../data/latency.js';
import { runNas } from '../nas/run.js';
import { loadTfjsWasm } from '../runtimes/tfjs.js';
import { targetOnlyGcn, flopsRanking } from '../transfer/baselines.js';
import { encode } from '../transfer/encoding.js';
import { rankMetrics } from '../transfer/metrics.js';
import { DEFAULT_PREDICTOR, TransferPredictor, type PredictorConfig } from '../transfer/predictor.js';
import { selectSamples, type SampleSelector } from '../transfer/sampling.js';
import { adaptAndScore, runTransferStudy, summarise, type TransferRun } from '../transfer/study.js';
import { getTask, TASKS } from '../transfer/tasks.js';
import { quantile } from '../util/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SEEDS = QUICK ? [1, 2] : [1, 2, 3, 4, 5];
const KS = [5, 10, 20];
const SAMPLER: SampleSelector = 'stratified';
const OTHER_SAMPLERS: SampleSelector[] = ['random', 'cluster', 'hwaware', 'reference'];
const EPOCHS = QUICK ? 8 : DEFAULT_PREDICTOR.epochs;
const fmt = (s: { mean: number; std: number; n: number }) => (s.n ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}` : 'n/a');

async function main() {
  const tf = await loadTfjsWasm();
  const started = Date.now();
  const log = (s: string) => process.stderr.write(s + '\n');
  const sections: string[] = [];
  const cfg: Partial<PredictorConfig> = { epochs: EPOCHS };

  // 1. every task with the default predictor
  const tasks = QUICK ? [getTask('nb201-help')] : TASKS;
  const taskRuns = new Map<string, { runs: TransferRun[]; pretrainMs: number }>();
  let otherSamplerRuns: TransferRun[] = [];
  for (const task of tasks) {
    log(`${task.name}: pretraining on ${task.train.length} devices`);
    // on the NB201 HELP split the sample-selection ablation reuses this pretrained predictor
    const alsoSamplers = task.name === 'nb201-help' ? { samplers: OTHER_SAMPLERS, ks: [10] } : undefined;
    const study = await runTransferStudy(tf, task, cfg, { ks: KS, seeds: SEEDS, sampler: SAMPLER, alsoSamplers }, log);
    taskRuns.set(task.name, { ...study, runs: study.runs.filter((r) => r.sampler === SAMPLER) });
    if (alsoSamplers) otherSamplerRuns = study.runs.filter((r) => r.sampler !== SAMPLER);
  }
  const main = taskRuns.get('nb201-help')!;
  const nb201 = getTask('nb201-help');
  const data = loadLatencyData('nb201');

  // 2. baselines on the NB201 HELP split, same samples (k = 10, stratified, same seeds)
  const baseline: Array<Array<string | number>> = [];
  const baseMeans = { flops: [] as number[], brp10: [] as number[], brp900: [] as number[] };
  const enc = encode(data, 'onehot');
  const flops = flopsRanking(data);
  for (const device of nb201.test) {
    const truth = requireDevice(data, device);
    const brp10: number[] = [];
    const brp900: number[] = [];
    for (const seed of SEEDS) {
      const s10 = selectSamples(SAMPLER, 10, data, nb201.train, enc, seed * 7919 + 10);
      brp10.push(rankMetrics(await targetOnlyGcn(tf, data, s10, s10.map((i) => truth[i]!), seed), truth, s10).spearman);
      if (seed === 1) {
        const s900 = selectSamples('random', 900, data, nb201.train, enc, seed);
        brp900.push(rankMetrics(await targetOnlyGcn(tf, data, s900, s900.map((i) => truth[i]!), seed, QUICK ? 300 : 800), truth, s900).spearman);
      }
    }
    const ours = summarise(main.runs.filter((r) => r.device === device && r.k === 10));
    baseMeans.flops.push(rankMetrics(flops, truth, []).spearman);
    baseMeans.brp10.push(mean(brp10));
    baseMeans.brp900.push(mean(brp900));
    baseline.push([device, fmt(ours), nb201.help![device]!, rankMetrics(flops, truth, []).spearman, fmt(summarise(brp10.map((spearman) => ({ spearman })))), fmt(summarise(brp900.map((spearman) => ({ spearman }))))]);
    log(`baselines ${device} done`);
  }
  // 2b. how far can these tables be ranked at all? (in-sample fits on every architecture)
  const ceilingRows = nb201.test.map((d) => {
    const c = inSampleCeiling(data, requireDevice(data, d));
    // four decimals: the point is whether 0.989 is inside or above these
    const f4 = (x: number) => x.toFixed(4);
    return [d, f4(summarise(main.runs.filter((r) => r.device === d && r.k === 10)).mean), nb201.help![d]!.toFixed(3), f4(c.opCounts), f4(c.oneHot), f4(c.oneHotQuadratic)];
  });
  const oursMean = summarise(main.runs.filter((r) => r.k === 10).map((r) => r));
  const perDeviceMeans = nb201.test.map((d) => summarise(main.runs.filter((r) => r.device === d && r.k === 10)).mean);
  baseline.push(['**mean**', mean(perDeviceMeans), 0.932, mean(baseMeans.flops), mean(baseMeans.brp10), mean(baseMeans.brp900)]);

  // 3. ablation over the four axes on NB201 HELP, k = 10 (one axis changed at a time from the default)
  const ablation: Array<Array<string | number>> = [];
  const addAblation = (axis: string, value: string, runs: TransferRun[]) => {
    const perDev = nb201.test.map((d) => summarise(runs.filter((r) => r.device === d && r.k === 10)).mean);
    ablation.push([axis, value, perDev.reduce((a, b) => a + b, 0) / perDev.length, Math.min(...perDev), ...perDev]);
  };
  addAblation('default', `mlp · learned · onehot · ${SAMPLER}`, main.runs);
  for (const sampler of OTHER_SAMPLERS) addAblation('sample selection', sampler, otherSamplerRuns.filter((r) => r.sampler === sampler));
  for (const [axis, value, change] of [
    ['predictor', 'gnn', { trunk: 'gnn' }],
    ['device representation', 'help (HELP embedding + fine-tune)', { deviceRep: 'help' }],
    ['device representation', 'none (fine-tune only)', { deviceRep: 'none' }],
    ['op encoding', 'learned op embedding', { encoding: 'learned' }],
    ['op encoding', 'one-hot + FLOPs/params', { encoding: 'onehot+flops' }],
    ['op encoding', 'one-hot + graph-autoencoder embedding', { encoding: 'onehot+gae' }],
  ] as Array<[string, string, Partial<PredictorConfig>]>) {
    log(`ablation ${axis} = ${value}`);
    const st = await runTransferStudy(tf, nb201, { ...cfg, ...change }, { ks: [10], seeds: SEEDS, sampler: SAMPLER }, log);
    addAblation(axis, value, st.runs);
  }
  if (!QUICK) {
    const fb = getTask('fbnet-help');
    const fbRuns = taskRuns.get('fbnet-help')!.runs;
    const st = await runTransferStudy(tf, fb, { ...cfg, encoding: 'onehot+zcp' }, { ks: [10], seeds: SEEDS, sampler: SAMPLER }, log);
    const m = (runs: TransferRun[]) => fb.test.map((d) => summarise(runs.filter((r) => r.device === d && r.k === 10)).mean);
    sections.push(`### Zero-cost proxies as supplementary encoding (FBNet HELP split, k = 10)\n\n${markdownTable(['encoding', ...fb.test, 'mean'], [
      ['one-hot', ...m(fbRuns), mean(m(fbRuns))],
      ['one-hot + zero-cost proxies', ...m(st.runs), mean(m(st.runs))],
    ])}`);
  }

  // 3b. the adaptation's cost columns (log FLOPs, log params; FBNet: depth), on vs off, every task
  const costRows: Array<Array<string | number>> = [];
  for (const t of tasks) {
    log(`cost columns off: ${t.name}`);
    const off = await runTransferStudy(tf, t, { ...cfg, costColumns: false }, { ks: [10], seeds: SEEDS, sampler: SAMPLER }, log);
    const per = (runs: TransferRun[]) => t.test.map((d) => summarise(runs.filter((r) => r.device === d && r.k === 10)).mean);
    const on = per(taskRuns.get(t.name)!.runs);
    const offM = per(off.runs);
    costRows.push([t.name, mean(offM), mean(on), Math.min(...offM), Math.min(...on)]);
  }
  sections.push(`### Cost columns in the adaptation (k = 10, mean over test devices and ${SEEDS.length} seeds)

The closed-form adaptation combines the predicted training-device latencies; by default it may also use the architectures' log FLOPs and log params and, on FBNet, their depth (non-skip blocks: per-layer overheads such as kernel launches, which FLOPs miss). Leave-one-out ridge decides their weight per device.

${markdownTable(['task', 'without: mean', 'with: mean', 'without: worst device', 'with: worst device'], costRows)}`);

  // 4. timings on NB201 (pretraining, adaptation, prediction of all 15,625 cells)
  const adaptMs = main.runs.map((r) => r.adaptMs);
  const predictMs = main.runs.map((r) => r.predictMs);

  // 5. NAS with the transferred predictor, budgets at the 25/50/75th latency percentile
  const nasRows: Array<Array<string | number>> = [];
  const speedups: number[] = [];
  const nasMet: boolean[] = [];
  const nasGaps: number[] = [];
  for (const device of nb201.test) {
    const lat = Array.from(requireDevice(data, device));
    for (const q of [0.25, 0.5, 0.75]) {
      const budget = quantile(lat, q);
      const r = await runNas(tf, { device, budgetMs: budget, samples: 10, sampler: SAMPLER, seed: 1 }, log);
      speedups.push(r.speedup);
      nasRows.push([device, `p${q * 100} = ${budget.toFixed(2)}`, r.found.accuracy, r.best.accuracy, r.best.accuracy - r.found.accuracy, r.found.trueMs <= budget ? 'yes' : 'no', `${r.measurements} (${r.verified} verify)`, r.evaluated, r.oursS, r.measureAllS, `${r.speedup.toFixed(1)}×`]);
      nasMet.push(r.found.trueMs <= budget);
      nasGaps.push(r.best.accuracy - r.found.accuracy);
    }
  }
  const nasModel = (await runNas(tf, { device: nb201.test[0]!, budgetMs: quantile(Array.from(requireDevice(data, nb201.test[0]!)), 0.5), samples: 10, sampler: SAMPLER, seed: 1 })).costModel;

  // tables per task
  const taskTables = [...taskRuns.entries()].map(([name, st]) => {
    const task = getTask(name);
    const rows = task.test.map((d) => [d, ...KS.map((k) => fmt(summarise(st.runs.filter((r) => r.device === d && r.k === k)))), ...KS.map((k) => mean(st.runs.filter((r) => r.device === d && r.k === k).map((r) => r.kendall)))]);
    const means = KS.map((k) => mean(task.test.map((d) => summarise(st.runs.filter((r) => r.device === d && r.k === k)).mean)));
    rows.push(['**mean**', ...means.map((m) => m.toFixed(3)), '', '', '']);
    return `### ${name} (${task.source}; pretraining ${(st.pretrainMs / 1000).toFixed(0)} s on ${task.train.length} devices)\n\n${markdownTable(['test device', ...KS.map((k) => `Spearman k=${k}`), ...KS.map((k) => `Kendall τ k=${k}`)], rows)}`;
  });

  const sampleLists = nb201.test.map((d) => `- ${d}: ${JSON.stringify(main.runs.find((r) => r.device === d && r.k === 10 && r.seed === 1)!.samples)}`).join('\n');
  const bestSampler = ablation.filter((r) => r[0] === 'sample selection' || r[0] === 'default').sort((a, b) => (b[2] as number) - (a[2] as number))[0]!;
  const md = `# Few-shot cross-device latency prediction

Generated by \`npm run bench:transfer\`${QUICK ? ' (BENCH_QUICK=1)' : ''} on ${new Date().toISOString().slice(0, 16)}Z in ${((Date.now() - started) / 60_000).toFixed(1)} min on ${machineLabel()}, tfjs ${tf.version.tfjs} wasm backend.
Data: the bundled HELP / HW-NAS-Bench latency tables (data/latency). Metrics are over every architecture of the space except the k measured ones;
Kendall τ on a fixed random subset of 3,000. "± std" is over ${SEEDS.length} sample-selection seeds (the k measured archs change with the seed; pretraining is done once per configuration with seed 1).

Default predictor: MLP trunk (one-hot ops → 128 → 128 → 32), learned per-device vectors (multi-device head), pretrained ${EPOCHS} epochs on the task's training devices;
a new device's vector is fitted in closed form (ridge on the predicted training-device latencies, λ by leave-one-out) from its k measurements, chosen by the '${SAMPLER}' selector.

## NB201, HELP split: ours vs published HELP and baselines (k = 10, same samples)

${markdownTable(['test device', 'ours (Spearman)', 'HELP (published)', 'FLOPs ranking', 'GCN target-only, k=10 (BRP-NAS style)', 'GCN target-only, 900 samples'], baseline)}

Ours, all test devices and seeds: mean ${oursMean.mean.toFixed(3)} ± ${oursMean.std.toFixed(3)} (target ≥ 0.95; HELP 0.932).

### Ceiling: how well can these measurements be ranked at all?
Linear models on op features fitted on *all* 15,625 measured cells of the device and scored on the same cells (in-sample, so an upper bound for their class, not a prediction). Where HELP's figure sits at or above these, the remaining gap is measurement noise in the table rather than something k = 10 samples could recover.

${markdownTable(['test device', 'ours, k = 10', 'HELP (published)', 'op counts, in-sample', 'one-hot per edge, in-sample', 'one-hot + op-count products, in-sample'], ceilingRows)}

Measured architectures (seed 1, k = 10):
${sampleLists}

## All tasks

${taskTables.join('\n\n')}

## Ablation over the four design axes (NB201 HELP split, k = 10, mean over ${SEEDS.length} seeds)

${markdownTable(['axis', 'choice', 'mean Spearman', 'worst device', ...nb201.test], ablation)}

The 'help' representation needs the 10 reference architectures measured, so it always uses HELP's reference set as its k = 10 samples.

${sections.join('\n\n')}

## Timings (NB201, 15,625 cells)
- Pretraining: ${(main.pretrainMs / 1000).toFixed(0)} s (target ≤ 600 s).
- Transfer to one device (adaptation): median ${quantile(adaptMs, 0.5).toFixed(0)} ms, max ${Math.max(...adaptMs).toFixed(0)} ms (target ≤ 10 s).
- Predicting all 15,625 cells: median ${quantile(predictMs, 0.5).toFixed(0)} ms, max ${Math.max(...predictMs).toFixed(0)} ms (target ≤ 2 s).

## Latency-constrained NAS with the transferred predictor (k = 10)

Regularised evolution (population 50, 1000 cycles, tournament 10) maximising real CIFAR-10 accuracy under the budget, latency from the transferred predictor.
Cost model: ${nasModel}.

${markdownTable(['device', 'budget ms', 'found acc %', 'best acc under budget %', 'gap', 'true latency ≤ budget', 'measured', 'candidates evaluated', 'ours s', 'measure-all s', 'speedup'], nasRows)}

Budget met by the returned cell in ${nasMet.filter(Boolean).length}/${nasMet.length} searches; median accuracy gap to the true best under the budget ${quantile(nasGaps, 0.5).toFixed(2)} points (max ${Math.max(...nasGaps).toFixed(2)}).
Median speedup over measuring every candidate: ${quantile(speedups, 0.5).toFixed(1)}× (seed reference: 5.8×). The final candidates are verified by measurement (counted above), since a prediction near the budget can fall on either side of it.

## Conclusions
${conclusions(ablation, { ours: mean(perDeviceMeans), flops: mean(baseMeans.flops), brp10: mean(baseMeans.brp10), brp900: mean(baseMeans.brp900) }, bestSampler)}
`;
  mkdirSync('reports', { recursive: true });
  writeFileSync(path.join('reports', 'transfer.md'), md);
  console.log(md);
}

function conclusions(ablation: Array<Array<string | number>>, b: { ours: number; flops: number; brp10: number; brp900: number }, bestSampler: Array<string | number>): string {
  const byAxis = (axis: string) => ablation.filter((r) => r[0] === axis).map((r) => `${r[1]} ${(r[2] as number).toFixed(3)}`).join(', ');
  const def = ablation[0]![2] as number;
  return [
    `- Default configuration: mean Spearman ${def.toFixed(3)} at k = 10 on the NB201 HELP split (HELP: 0.932).`,
    `- Sample selection (default ${SAMPLER} ${def.toFixed(3)}): ${byAxis('sample selection')}; best: ${bestSampler[1]}.`,
    `- Predictor: mlp ${def.toFixed(3)} vs ${byAxis('predictor')}.`,
    `- Device representation: learned ${def.toFixed(3)} vs ${byAxis('device representation')}.`,
    `- Op encoding: one-hot ${def.toFixed(3)} vs ${byAxis('op encoding')}.`,
    `- Baselines (mean over the test devices): FLOPs ranking ${b.flops.toFixed(3)}; a GCN trained on the target device only with the same 10 samples ${b.brp10.toFixed(3)}; with 900 samples ${b.brp900.toFixed(3)}. ` +
      `Pretraining across devices ${b.ours > b.brp10 ? `adds ${(b.ours - b.brp10).toFixed(3)} over the same 10 samples used alone` : `does not beat the target-only GCN at k = 10 here`}` +
      `${b.brp900 > b.ours ? `; 900 target samples still do better (${b.brp900.toFixed(3)}), at 90× the measurements` : `, and matches or beats 900 target-only samples`}.`,
  ].join('\n');
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
