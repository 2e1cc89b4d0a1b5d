import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { FAMILIES, generateModel, modelBytes } from '../modelgen/index.js';
import { measureModel, profileNodes } from '../profile/model-timing.js';
import { MachineProbe } from '../profile/probe.js';
import { getRuntime } from '../runtimes/index.js';
import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { CALIBRATION_POOL, calibrateSetting, MEASUREMENT_PASSES, PER_ROUND, probeWindowName, quietestRoundProbe, ROUND_PROBE_RUNS } from '../wholemodel/calibrate.js';
import { describeCalibration } from '../wholemodel/calibration.js';
import { fusionTable, WHOLE_MODEL_DEVICES } from '../wholemodel/fusion.js';
import { measureFusions } from '../wholemodel/fusion-probe.js';
import { readModelFile } from '../wholemodel/model-file.js';
import type { InputOverrides } from '../ir/onnx-load.js';
import { extrapolatedModules, settingKey, trainCommand, untrainedModules, WholeModelPredictor, type ModelPrediction } from '../wholemodel/predictor.js';
import { compareLayers, layerRows, predictionRecord } from '../wholemodel/report.js';
import { closeOnSignals, port, positiveInt, stopOnSigint } from './args.js';
import { phaseProgress } from './progress.js';
import { formatTable } from './table.js';
import { enqueueModelForFleet } from './fleet-cmds.js';

/** `predict model.onnx`, `measure model.onnx`, `calibrate`, `generate`: whole-model commands. */

/** commander collector for repeatable options */
export const collect = (v: string, acc: string[] = []) => [...acc, v];

/**
 * `--input-shape 1,3,224,224` (the first input), `--input-shape mask=1,128` (an input by name),
 * `--dim seq=128` (a symbolic dim, in every input that has it) — each repeatable.
 */
export function parseInputSpec(inputShapes: string[] = [], dims: string[] = []): InputOverrides {
  const positive = (s: string, flag: string, example: string) => {
    const v = Number(s.trim());
    if (!Number.isInteger(v) || v < 1) throw new UserError(`expected positive integers (e.g. ${example}), got '${s}'`, flag);
    return v;
  };
  const shapes: Record<string, number[]> = {};
  for (const raw of inputShapes) {
    const at = raw.lastIndexOf('=');
    const name = at >= 0 ? raw.slice(0, at).trim() : '';
    const list = at >= 0 ? raw.slice(at + 1) : raw;
    if (at >= 0 && !name) throw new UserError(`expected NAME=DIMS or DIMS (e.g. 1,3,224,224 or attention_mask=1,128), got '${raw}'`, '--input-shape');
    if (name in shapes) throw new UserError(`${name ? `input "${name}"` : 'the first input'} is given twice`, '--input-shape');
    shapes[name] = list.split(/[,x×]/).map((d) => positive(d, '--input-shape', '1,3,224,224'));
  }
  const values: Record<string, number> = {};
  for (const raw of dims) {
    const at = raw.lastIndexOf('=');
    if (at <= 0) throw new UserError(`expected NAME=VALUE (e.g. sequence=128), got '${raw}'`, '--dim');
    values[raw.slice(0, at).trim()] = positive(raw.slice(at + 1), '--dim', 'sequence=128');
  }
  return { shapes, dims: values };
}

export const INPUT_SHAPE_HELP = "shape of an input with dynamic dims: DIMS for the first input (e.g. 1,3,48,320) or NAME=DIMS; repeatable";
export const DIM_HELP = "value of a symbolic input dim, in every input that has it (e.g. --dim sequence=128); repeatable";

function checkDevice(device: string): void {
  if (!WHOLE_MODEL_DEVICES.includes(device)) throw new UserError(`whole ONNX models run on ${WHOLE_MODEL_DEVICES.join(', ')}; got '${device}'`, '--device');
}

export function printPrediction(p: ModelPrediction, file: string, top: number, predictMs: number): void {
  const rows = layerRows(p, top);
  const compute = p.kernels.filter((k) => k.group !== 'free').length;
  console.log(`${file} on ${settingKey(p.setting)}: ${p.totalMs.toFixed(3)} ms predicted (${compute} kernels, ${(p.flops / 1e6).toFixed(1)} MFLOPs; predicted in ${predictMs.toFixed(1)} ms)`);
  console.log(formatTable(
    ['layer', 'op', 'shape', 'MFLOPs', 'ms', 'share', 'predictor', 'extrapolated / approximated'],
    rows.map((r) => [r.name, r.op, r.shape, r.mflops, r.ms, `${(100 * r.share).toFixed(1)} %`, r.source, r.extrapolated]),
  ));
  if (rows.length < compute) console.log(`… ${compute - rows.length} smaller kernels (--top to show more)`);
  console.log(`coverage: ${(100 * p.coverage).toFixed(1)} % of FLOPs predicted by trained module RMs (the rest: ${p.setting.device} roofline)`);
  // modules whose kernels take at least 1 % of the predicted time (all of them are in --json)
  for (const u of untrainedModules(p).filter((x) => x.share >= 0.01)) {
    const t = trainCommand(p.setting, u.module);
    console.log(`${u.kernels} ${u.module} kernel${u.kernels > 1 ? 's' : ''} (${(100 * u.share).toFixed(1)} % of the predicted time) fell back to the roofline: no trained ${u.module} predictor for ${settingKey(p.setting)}; train one with (~${Math.max(1, Math.ceil(t.minutes))} min, alone on the machine), then refit the calibration with it ('latencylab calibrate -d ${p.setting.device} -t ${p.setting.threads}'):\n  ${t.command}`);
  }
  const outside = extrapolatedModules(p).filter((e) => e.share >= 0.01);
  if (outside.length) {
    console.log(`outside the trained ranges (predicted at the nearest trained configuration scaled by work, so expect a larger error; profiling the dataset over a space that covers them removes it):`);
    for (const x of outside) console.log(`  ${p.datasets[x.module] ?? x.module}: ${x.kernels} kernel${x.kernels > 1 ? 's' : ''}, ${(100 * x.share).toFixed(1)} % of the predicted time (${x.beyond.slice(0, 3).join('; ')}${x.beyond.length > 3 ? '; …' : ''})`);
  }
  console.log(p.calibrated ? `per-model overhead ${p.overheadMs.toFixed(3)} ms (calibrated${p.probeMs ? `; at the machine state of the calibration, probe ${p.probeMs.toFixed(3)} ms — --now rescales to the state now` : ''})${p.clampedMs < 0 ? `; ${p.clampedMs.toFixed(3)} ms in the total for layers whose estimate fell below zero (shown as 0 ms)` : ''}` : `UNCALIBRATED: raw sum of kernel predictions; run 'latencylab calibrate -d ${p.setting.device} -t ${p.setting.threads}' (~1–3 min) for end-to-end accuracy`);
}

export function registerModelCommands(program: Command, openStore: () => Store): void {
  program
    .command('measure')
    .description('time a whole ONNX model end to end on a device (session creation + profiler timing)')
    .argument('<model>', '.onnx file')
    .option('-d, --device <name>', `device (${WHOLE_MODEL_DEVICES.join(', ')})`, 'ort-cpu')
    .option('-t, --threads <n>', 'intra-op threads', positiveInt, 1)
    .option('--input-shape <dims>', INPUT_SHAPE_HELP, collect)
    .option('--dim <name=value>', DIM_HELP, collect)
    .option('--compare', "also predict it and print predicted vs measured per layer (onnxruntime's per-node profiler; ort-cpu)")
    .option('--passes <n>', 'separate measurements (each its own session); the latency is their median — one alone varies by tens of per cent on a shared machine', positiveInt, MEASUREMENT_PASSES)
    .option('--json', 'print JSON')
    .option('--fleet', 'queue it for the agents of a fleet store instead of timing it here (needs --store)')
    .option('--store <url>', 'fleet store: postgres://user:password@host:5432/db (with --fleet)')
    .action(async (file: string, o) => {
      checkDevice(o.device);
      const mf = readModelFile(file, parseInputSpec(o.inputShape, o.dim));
      if (o.fleet || o.store) {
        if (!o.fleet || !o.store) throw new UserError('--fleet and --store go together', o.fleet ? '--store' : '--fleet');
        if (o.compare) throw new UserError('is not supported with --fleet', '--compare');
        return enqueueModelForFleet(o.store, { name: path.basename(file), bytes: mf.bytes, inputs: mf.inputs, device: o.device, threads: o.threads });
      }
      const store = o.compare ? openStore() : undefined;
      try {
        const predictor = store ? WholeModelPredictor.open(store, { device: o.device, threads: o.threads }) : undefined;
        const pred = predictor?.predict(mf.imported);
        // the machine probe with each pass when the prediction is compared: the prediction is at
        // the machine state of its calibration, the measurement at the state now — read as the
        // calibration read its own measurements (around the quietest round, or just before)
        const perRound = pred?.probeWindowS === PER_ROUND;
        const probe = predictor ? await MachineProbe.open(getRuntime(o.device), o.threads) : undefined;
        const passes: Array<Awaited<ReturnType<typeof measureModel>> & { probeMs?: number }> = [];
        try {
          for (let i = 0; i < (o.passes as number); i++) {
            if (probe && perRound) {
              const m = await measureModel(mf.bytes, mf.inputs, o.device, o.threads, {}, () => probe.time(ROUND_PROBE_RUNS));
              passes.push({ ...m, probeMs: quietestRoundProbe(m.stats)! });
              continue;
            }
            const probeMs = await probe?.time();
            passes.push({ ...(await measureModel(mf.bytes, mf.inputs, o.device, o.threads)), ...(probeMs !== undefined ? { probeMs } : {}) });
          }
        } finally {
          await probe?.close();
        }
        // the pass with the median latency stands for the measurement (its statistics are printed)
        const r = [...passes].sort((a, b) => a.stats.latencyMs - b.stats.latencyMs)[(passes.length - 1) >> 1]!;
        const latencyMs = median(passes.map((x) => x.stats.latencyMs));
        const probeNow = probe ? median(passes.map((x) => x.probeMs!)) : undefined;
        // the prediction brought to the machine state of the measurement (as predict --now)
        const predictedMs = pred ? (pred.probeMs && probeNow ? (pred.totalMs * probeNow) / pred.probeMs : pred.totalMs) : undefined;
        const nodes = pred ? await profileNodes(mf.bytes, mf.inputs, o.device, o.threads) : undefined;
        const cmp = pred && nodes ? compareLayers(pred, nodes) : undefined;
        if (o.json) {
          console.log(JSON.stringify({ file, device: o.device, threads: o.threads, createMs: median(passes.map((x) => x.createMs)), latencyMs, passes: passes.map((x) => ({ latencyMs: x.stats.latencyMs, createMs: x.createMs, ...(x.probeMs !== undefined ? { probeMs: x.probeMs } : {}) })), stats: r.stats, predictedMs, ...(probe ? { machineState: perRound ? 'quietest-round' : 'before-pass' } : {}), layers: cmp?.layers, runtimeInserted: cmp?.unmatched }));
          return;
        }
        const s = r.stats;
        const spread = passes.length > 1 ? `; ${passes.length} passes ${passes.map((x) => x.stats.latencyMs.toFixed(3)).join(' / ')} ms, the median counts` : '';
        console.log(`${file} on ${o.device}/t${o.threads}: ${latencyMs.toFixed(3)} ms (median pass: median ${s.medianMs.toFixed(3)}, p10–p90 ${s.p10Ms.toFixed(3)}–${s.p90Ms.toFixed(3)}, ${s.n} runs in ${s.roundMediansMs.length} rounds${spread}); session creation ${r.createMs.toFixed(1)} ms`);
        if (pred && cmp) {
          const err = (100 * (predictedMs! - latencyMs)) / latencyMs;
          const reading = perRound ? 'read around each pass\'s quietest round' : 'timed before each pass';
          const state = pred.probeMs && probeNow ? ` at the machine state of the measurement (probe ${probeNow.toFixed(3)} ms, ${reading}, vs ${pred.probeMs.toFixed(3)} ms when calibrated; ${pred.totalMs.toFixed(3)} ms at that state)` : '';
          console.log(`predicted ${predictedMs!.toFixed(3)} ms${state} (${err >= 0 ? '+' : ''}${err.toFixed(1)} %)${pred.calibrated ? '' : ' UNCALIBRATED'}`);
          console.log(formatTable(['layer', 'op', 'predicted ms', 'measured ms', 'error', 'extrapolated'], cmp.layers.map((l) => [l.kernel, l.op, l.predictedMs, l.measuredMs, `${((100 * (l.predictedMs - l.measuredMs)) / Math.max(l.measuredMs, 1e-6)).toFixed(0)} %`, l.extrapolated])));
          const inserted = cmp.unmatched.reduce((a, n) => a + n.ms, 0);
          if (cmp.unmatched.length) console.log(`runtime-inserted nodes (layout reorders and the like, not in the model file): ${cmp.unmatched.length}, ${inserted.toFixed(3)} ms`);
          const profiled = nodes!.reduce((a, n) => a + n.ms, 0);
          const cost = predictor!.profilerCostMs;
          console.log(`(per-node times come from a profiled session: ${nodes!.length} nodes, ${profiled.toFixed(3)} ms in all against the ${latencyMs.toFixed(3)} ms timed — the profiler itself costs time${cost !== undefined ? `; the in-graph correction learned each kernel without the ~${(cost * 1000).toFixed(1)} µs it adds per node, so small layers are predicted below their profiled times` : ''})`);
        }
      } finally {
        store?.close();
      }
    });

  program
    .command('calibrate')
    .description('measure generated networks on a device and fit the whole-model calibration (per-model overhead, per-group factors)')
    .option('-d, --device <name>', `device (${WHOLE_MODEL_DEVICES.join(', ')})`, 'ort-cpu')
    .option('-t, --threads <n>', 'intra-op threads', positiveInt, 1)
    .option('--per-family <n>', `networks per family (${FAMILIES.length} families; drawn by size from ${CALIBRATION_POOL} seeds a family)`, positiveInt, 5)
    .option('--passes <n>', 'measurements of each network, in passes over the shuffled list (its latency is their median)', positiveInt, MEASUREMENT_PASSES)
    .action(async (o) => {
      checkDevice(o.device);
      const setting = { device: o.device as string, threads: o.threads as number };
      const store = openStore();
      const sigint = stopOnSigint();
      try {
        const r = await calibrateSetting(store, setting, {
          perFamily: o.perFamily,
          passes: o.passes,
          stop: sigint.flag,
          onProgress: phaseProgress(`calibration networks on ${settingKey(setting)}`),
        });
        if (!r) throw new UserError('stopped before every calibration network was measured; run it again to continue', 'calibrate');
        const c = r.calibration;
        const ig = Object.entries(r.inGraph.models);
        console.log(`calibration for ${settingKey(setting)} ('${c.variant}') from ${c.models} networks (each the median of ${o.passes} measurements): ${describeCalibration(c)}${c.probeMs ? `; machine probe ${c.probeMs.toFixed(3)} ms` : ''}`);
        const w = r.probeWindow;
        const own = w.candidates.find((x) => x.windowS === 0);
        const chosen = w.candidates.find((x) => x.windowS === w.windowS);
        if (w.passes && own && chosen) console.log(`machine state of each measurement: ${probeWindowName(w.windowS)} — passes within ±5 % of their network's median: ${(100 * chosen.within5).toFixed(1)} % (each measurement's own probe: ${(100 * own.within5).toFixed(1)} %)`);
        console.log(ig.length ? `in-graph correction (${r.inGraph.method ?? 'linear'}${r.inGraph.profilerCostMs !== undefined ? `: profiled times less the profiler's ${(r.inGraph.profilerCostMs * 1000).toFixed(2)} µs per node${r.inGraph.method === 'gbt-e2e' ? ", scaled to each network's end-to-end latency" : ''}` : ''}) for ${ig.map(([k, m]) => `${k} (${m.n}${m.rm ? ', trees' : ''})`).join(', ')}` : 'no in-graph correction (this runtime writes no per-node profile)');
      } finally {
        sigint.release();
        store.close();
      }
    });

  program
    .command('fusion')
    .description("time each fusion pattern against its parts on a device: which op pairs the runtime runs as one kernel")
    .option('-d, --device <name>', `device (${WHOLE_MODEL_DEVICES.join(', ')})`, 'ort-cpu')
    .option('-t, --threads <n>', 'intra-op threads', positiveInt, 1)
    .action(async (o) => {
      checkDevice(o.device);
      const table = fusionTable(o.device);
      const ev = await measureFusions(getRuntime(o.device), o.threads);
      console.log(formatTable(
        ['rule', 'pair ms', 'parts ms', 'absorbed op saved', 'measured', 'table'],
        ev.map((e) => [e.rule, e.pairMs, e.partsMs.map((x) => x.toFixed(4)).join(' + '), `${(100 * e.saved).toFixed(0)} %`, e.fused ? 'fused' : 'separate', table.rules.has(e.rule) ? 'fused' : 'separate']),
      ));
      console.log(`(one standalone session.run, ${((ev[0]?.overheadMs ?? 0) * 1000).toFixed(1)} µs, is taken off every figure; a fused op is not free — it still moves its data — so values near 50 % are ambiguous; table: ${table.source})`);
    });

  program
    .command('serve')
    .description('serve prediction over HTTP: POST /v1/predict?device=…&threads=…&inputShape=… with the .onnx file as the body (a whole model), POST /v1/predict-module with JSON {dataset, params} (one module configuration)')
    .option('--port <n>', 'port (0 = any free port)', port, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (o) => {
      const store = openStore();
      // fastify is loaded by the commands that serve (~0.1 s every other command would pay)
      const { buildPredictServer } = await import('../serve/predict-server.js');
      const app = buildPredictServer(store);
      const address = await app.listen({ port: o.port, host: o.host });
      console.log(`latencylab serve: whole-model prediction from ${store.file} listening on ${address} (POST /v1/predict)`);
      const close = async () => {
        await app.close();
        store.close();
        process.exit(0);
      };
      closeOnSignals(close);
    });

  program
    .command('generate')
    .description('write generated networks (ResNet, MobileNetV2/V3, EfficientNet, ShuffleNetV2, SqueezeNet, DenseNet, GoogLeNet, U-Net, ViT, BERT, CRNN) as ONNX files')
    .option('--family <names>', `comma-separated families or 'all' (${FAMILIES.map((f) => f.name).join(', ')})`, 'all')
    .option('-n, --count <n>', 'networks per family', positiveInt, 1)
    .option('--seed <n>', 'first seed', positiveInt, 1)
    .option('-o, --out <dir>', 'output folder', 'generated-models')
    .action((o) => {
      const families = o.family === 'all' ? FAMILIES.map((f) => f.name) : String(o.family).split(',').map((s) => s.trim());
      mkdirSync(o.out, { recursive: true });
      for (let seed = o.seed; seed < o.seed + o.count; seed++) {
        for (const f of families) {
          const g = generateModel(f, seed);
          const file = path.join(o.out, `${g.name}.onnx`);
          writeFileSync(file, modelBytes(g));
          console.log(`${file}  ${(g.graph.cost.macs / 1e6).toFixed(1)} M MACs, ${g.graph.nodes.length} nodes  ${JSON.stringify(g.config)}`);
        }
      }
    });
}

/** `predict model.onnx …`: the whole-model branch of the predict command */
export async function predictModelFile(store: Store, file: string, o: { device: string; threads: number; inputShape?: string[]; dim?: string[]; json?: boolean; top: number; now?: boolean }): Promise<void> {
  checkDevice(o.device);
  const spec = parseInputSpec(o.inputShape, o.dim);
  // the user's file first: a missing or broken model is named before the predictors are loaded
  const t0 = performance.now();
  const mf = readModelFile(file, spec);
  const readMs = performance.now() - t0;
  const predictor = WholeModelPredictor.open(store, { device: o.device, threads: o.threads });
  const t1 = performance.now();
  const p = predictor.predict(mf.imported);
  const predictMs = readMs + performance.now() - t1;
  let now: { probeMs: number; totalMs: number } | undefined;
  if (o.now) {
    if (!p.probeMs) throw new UserError(`the calibration of ${settingKey(p.setting)} has no machine probe; run 'latencylab calibrate -d ${o.device} -t ${o.threads}' again`, '--now');
    const probeMs = await MachineProbe.now(getRuntime(o.device), o.threads);
    now = { probeMs, totalMs: (p.totalMs * probeMs) / p.probeMs };
  }
  if (o.json) {
    console.log(JSON.stringify({ file, ...predictionRecord(p), predictMs, now }));
    return;
  }
  printPrediction(p, file, o.top, predictMs);
  if (now) console.log(`at the machine's state now (probe ${now.probeMs.toFixed(3)} ms vs ${p.probeMs!.toFixed(3)} ms when calibrated): ${now.totalMs.toFixed(3)} ms`);
}
