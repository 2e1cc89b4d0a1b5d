/**
 * bench:earlyexit-validate — where the early-exit engine's defaults are chosen: engine settings
 * compared on a *validation* stream of Fashion-MNIST training images (never the test set that
 * bench:earlyexit quotes), each setting run once per engine seed, settings interleaved per seed so
 * that they share the machine's state. Writes reports/earlyexit-validation.md: one row per run
 * (second half of the stream) and a summary per setting (mean / min / max of the mean latency
 * saved, runs whose agreement fell below the engine's target).
 *
 * Needs the full Fashion-MNIST training set (../shared/data/fashion-mnist or Debian's
 * dataset-fashion-mnist); ~25 s a run on an otherwise idle machine.
 *   npm run bench:earlyexit-validate                                    (default vs minCalibration 800)
 *   OFFSET=20000 SEEDS=4-7 SETTINGS='[{},{"confidenceZ":1.645}]' npm run bench:earlyexit-validate
 */
import { markdownTable } from '../cli/table.js';
import { imageAsInput } from '../data/fmnist.js';
import { DEFAULT_ENGINE, type EngineOptions } from '../earlyexit/engine-options.js';
import { summarise, type WindowSummary } from '../earlyexit/replay.js';
import { openCacheTarget, startEngine } from '../earlyexit/setup.js';
import type { SegmentCosts } from '../earlyexit/segments.js';
import { describeMachine, machineLabel } from '../profile/environment.js';
import { log, pct, requireFull, runIfMain, runStream, writeReport } from './earlyexit-common.js';

const N = 10000;

interface Run {
  setting: string;
  seed: number;
  w: WindowSummary;
  finalCaches: number[];
  /** training rounds and the trainer's CPU seconds over the whole stream */
  rounds: number;
  trainerCpuS: number;
}

/** "12-19" or "4,5,7" → seeds; a clear message and exit 2 otherwise */
function parseSeeds(spec: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(spec);
  const seeds = range ? Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i) : spec.split(',').map(Number);
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`SEEDS: expected a range like 12-19 or a list like 4,5,7 of positive integers, got "${spec}"`);
  return seeds;
}

function parseSettings(json: string): Array<Partial<EngineOptions>> {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`SETTINGS: expected a JSON array of engine option objects, got ${json}`);
  }
  if (!Array.isArray(v) || !v.length || v.some((o) => typeof o !== 'object' || o === null || Array.isArray(o))) throw new Error(`SETTINGS: expected a non-empty JSON array of objects, got ${json}`);
  return v as Array<Partial<EngineOptions>>;
}

/**
 * A setting's name in the report. The default one names the values it has for the options the other
 * settings vary, so that the report still reads right once a default has changed.
 */
const labeller = (settings: Array<Partial<EngineOptions>>) => {
  const varied = [...new Set(settings.flatMap((o) => Object.keys(o)))] as Array<keyof EngineOptions>;
  const defaults = varied.map((k) => `${k} ${JSON.stringify(DEFAULT_ENGINE[k])}`).join(', ');
  return (o: Partial<EngineOptions>) => (Object.keys(o).length ? JSON.stringify(o) : defaults ? `default (${defaults})` : 'default');
};

async function main(): Promise<void> {
  let seeds: number[];
  let settings: Array<Partial<EngineOptions>>;
  const offset = Number(process.env.OFFSET ?? 40000);
  try {
    seeds = parseSeeds(process.env.SEEDS ?? '12-19');
    settings = parseSettings(process.env.SETTINGS ?? '[{}, {"minCalibration": 800}]');
    if (!Number.isInteger(offset) || offset < 0 || offset + N > 60000) throw new Error(`OFFSET: expected an integer in 0..${60000 - N} (the stream is ${N} training images from there), got ${process.env.OFFSET}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const label = labeller(settings);
  const train = requireFull('train');
  const t = await openCacheTarget('fmnist');
  const t0 = Date.now();
  let costs: SegmentCosts | undefined;
  const runs: Run[] = [];
  for (const [k, seed] of seeds.entries()) {
    // interleaved: every setting once per seed, the order reversed every other seed
    for (const o of k % 2 ? [...settings].reverse() : settings) {
      log(`seed ${seed}, ${label(o)}`);
      const started = await startEngine(t, { ...o, seed }, costs);
      costs ??= started.costs;
      const run = await runStream(t, costs, started.engine, N, (i) => imageAsInput(train, offset + i), (i) => train.labels[offset + i]!);
      const m = started.engine.stats().maintenance;
      runs.push({ setting: label(o), seed, w: summarise(run.records, N / 2, N, t.model.analysis.totalFlops), finalCaches: [...started.engine.cascade.caches], rounds: m.retrains, trainerCpuS: m.trainerCpuSeconds });
      await started.engine.dispose();
    }
  }
  const target = (s: string) => settings.find((o) => label(o) === s)?.targetAgreement ?? DEFAULT_ENGINE.targetAgreement;
  const summary = settings.map((o) => {
    const rs = runs.filter((r) => r.setting === label(o));
    const saved = rs.map((r) => r.w.latencyReductionMean);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return [
      label(o),
      rs.length,
      `${pct(mean(saved))} (${pct(Math.min(...saved))} – ${pct(Math.max(...saved))})`,
      `${pct(mean(rs.map((r) => r.w.latencyReductionP95)))} (${rs.filter((r) => r.w.p95 <= r.w.baselineP95).length} of ${rs.length})`,
      pct(mean(rs.map((r) => r.w.flopsReduction))),
      (100 * Math.max(...rs.map((r) => r.w.backboneAccuracy! - r.w.accuracy!))).toFixed(2),
      pct(Math.min(...rs.map((r) => r.w.agreement))),
      `${rs.filter((r) => r.w.agreement < target(r.setting)).length} of ${rs.length}`,
      mean(rs.map((r) => r.rounds)).toFixed(1),
      mean(rs.map((r) => r.trainerCpuS)).toFixed(1),
    ];
  });
  const machine = describeMachine();
  const md = `# Early exits — engine settings on a validation stream

Generated by \`npm run bench:earlyexit-validate\` in ${((Date.now() - t0) / 60000).toFixed(1)} min on ${machineLabel()}, ${machine.os}, Node ${machine.node}. Stream: ${N} Fashion-MNIST *training* images from offset ${offset} (never the test set bench:earlyexit quotes; the backbone fits these images, so a disagreement with it costs about a point of accuracy each). Engine seeds ${seeds.join(', ')}; every setting once per seed, interleaved; one start-up cost profile for all runs. Second half of the stream (${N / 2}–${N}); every request timed through the caches and through the unmodified backbone back to back (ort-cpu 1 thread, batch 1). This is where the engine's defaults are chosen (engine-options.ts says which run chose what).

## Per setting
${markdownTable(['setting', 'runs', 'mean latency saved: mean (min – max)', 'p95 saved, mean (runs with p95 no worse)', 'FLOPs saved, mean', 'Δ acc, worst run (pts)', 'agreement, lowest run', 'runs below the agreement target', 'training rounds, mean', 'trainer CPU s, mean'], summary)}

Training rounds and the trainer process's CPU are over the whole stream (${N} requests).

## Every run
${markdownTable(['setting', 'seed', 'mean saved', 'FLOPs saved', 'p50 saved', 'p95 saved', 'early exits', 'agreement', 'Δ acc (pts)', 'caches at the end', 'rounds', 'trainer CPU s'], runs.map((r) => [r.setting, r.seed, pct(r.w.latencyReductionMean), pct(r.w.flopsReduction), pct(r.w.latencyReductionP50), pct(r.w.latencyReductionP95), pct(r.w.earlyExitRate), pct(r.w.agreement), (100 * (r.w.backboneAccuracy! - r.w.accuracy!)).toFixed(2), JSON.stringify(r.finalCaches), r.rounds, r.trainerCpuS.toFixed(1)]))}
`;
  writeReport('earlyexit-validation', md, { offset, seeds, settings, runs: runs.map((r) => ({ setting: r.setting, seed: r.seed, finalCaches: r.finalCaches, rounds: r.rounds, trainerCpuS: r.trainerCpuS, secondHalf: r.w })) });
}

runIfMain(import.meta.url, main);
