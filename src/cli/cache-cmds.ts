import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { bundledFashionMnist, findFullFashionMnist, imageAsInput, loadImageSet, streamOrder, type ImageSet } from '../data/fmnist.js';
import { DEFAULT_ENGINE, type EngineOptions } from '../earlyexit/engine.js';
import { replayStream, summarise } from '../earlyexit/replay.js';
import { DEFAULT_MAX_FEATURES } from '../earlyexit/segments.js';
import { MODEL_PRESETS, openCacheTarget, startEngine, type TargetOptions } from '../earlyexit/setup.js';
import { loadImageFolder } from '../serve/image-folder.js';
import { UserError } from '../util/errors.js';
import { closeOnSignals, fraction, numberList, port, positiveInt, positiveNumber, share, stopOnSigint } from './args.js';
import { fmtNum, formatTable } from './table.js';

/** options shared by every `cache` subcommand: which model, how it is cut */
function modelOptions(c: Command): Command {
  return c
    .requiredOption('--model <path|preset>', `ONNX classifier, or a preset: ${MODEL_PRESETS.join(', ')}`)
    .option('--input-shape <dims>', 'input shape for models with dynamic dims, e.g. 1,3,48,192', numberList('--input-shape'))
    .option('--cuts <tensors>', 'cache points as comma-separated tensor names (default: spread over the FLOPs)')
    .option('--max-cuts <n>', 'candidate cache points when --cuts is not given', positiveInt, 6)
    .option('--grid <n>', 'cache features: average pooling on an n×n grid (smaller where features would exceed --max-features) ⊕ global max', positiveInt, 3)
    .option('--max-features <n>', 'largest cache feature vector', positiveInt, DEFAULT_MAX_FEATURES)
    .option('--mean <list>', 'per-channel mean applied to pixel/255', numberList('--mean'))
    .option('--std <list>', 'per-channel std applied to pixel/255', numberList('--std'))
    .addOption(new Option('--fit <how>', "images of another size: 'exact' refuses them, 'resize' stretches, 'centre-crop' scales the shorter side and cuts the centre").choices(['exact', 'resize', 'centre-crop']))
    .option('--bgr', 'the model takes colour channels in B, G, R order');
}

function engineOptions(c: Command): Command {
  return c
    .option('--target-agreement <x>', 'required agreement of cache exits with the backbone', fraction, DEFAULT_ENGINE.targetAgreement)
    .addOption(new Option('--calibration <how>', "'overall': all answers meet the agreement target; 'per-exit': each cache's exits do").choices(['overall', 'per-exit']).default(DEFAULT_ENGINE.calibration))
    .option('--confidence-z <z>', 'z of the Wilson bound on disagreements used by overall calibration', positiveNumber, DEFAULT_ENGINE.confidenceZ)
    .option('--min-calibration <n|auto>', "audit every request until this many calibration records exist; 'auto': the fewest on which the agreement bound allows one disagreement (1170 at 0.995, z = 2)", (v: string) => (v === 'auto' ? 'auto' : positiveInt(v)), DEFAULT_ENGINE.minCalibration)
    .option('--audit-rate <x>', 'share of requests audited: answered as usual, then the rest of the backbone runs (after the answer) for calibration, training and the agreement estimate', fraction, DEFAULT_ENGINE.auditRate)
    .option('--memory-budget-kb <n>', 'memory budget for enabled cache heads (KiB)', positiveNumber, DEFAULT_ENGINE.memoryBudgetBytes / 1024)
    .option('--max-active <n>', 'at most this many caches enabled at once', positiveInt, DEFAULT_ENGINE.maxActive)
    .option('--no-skips', 'no cheaper no-exit path (by default a request an early cache is very unsure of skips the later caches)')
    .option('--fused', 'answer requests with the enabled cascade fused into one onnxruntime session (exits as ONNX If nodes; one run a request, another copy of the weights) instead of one run per segment')
    .option('--record-share <x>', "share of requests whose segments output every passed cut's features (so caches not enabled keep learning); the rest pool only the enabled caches'", share, DEFAULT_ENGINE.recordShare)
    .option('--train-budget <x>', `after ${DEFAULT_ENGINE.budgetAfterRounds} training rounds, training may use at most this share of the time spent answering requests (default: no limit)`, positiveNumber)
    .option('--no-teach-earlier', "train caches only on the backbone's answers (by default a request a cache answered also teaches the caches before it)")
    .addOption(new Option('--objective <what>', 'what the cache manager minimises').choices(['latency', 'flops']).default(DEFAULT_ENGINE.objective))
    .addOption(new Option('--training <where>', "where cache heads train: 'process' (a trainer process; the serving thread runs no training) or 'thread' (this one, between requests)").choices(['process', 'thread']).default(DEFAULT_ENGINE.training))
    .option('--seed <n>', 'seed', positiveInt, 1);
}

function targetOpts(o: Record<string, unknown>): TargetOptions {
  return {
    inputShape: o.inputShape as number[] | undefined,
    cuts: typeof o.cuts === 'string' ? o.cuts.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    maxCuts: o.maxCuts as number,
    grid: o.grid as number,
    maxFeatures: o.maxFeatures as number,
    mean: o.mean as number[] | undefined,
    std: o.std as number[] | undefined,
    fit: o.fit as TargetOptions['fit'],
    bgr: o.bgr === true,
  };
}

function engineOpts(o: Record<string, unknown>): Partial<EngineOptions> {
  return {
    targetAgreement: o.targetAgreement as number,
    calibration: o.calibration as EngineOptions['calibration'],
    confidenceZ: o.confidenceZ as number,
    minCalibration: o.minCalibration as number | 'auto',
    auditRate: o.auditRate as number,
    memoryBudgetBytes: (o.memoryBudgetKb as number) * 1024,
    maxActive: o.maxActive as number,
    objective: o.objective as EngineOptions['objective'],
    teachEarlier: o.teachEarlier !== false,
    training: o.training as EngineOptions['training'],
    skips: o.skips !== false,
    fused: o.fused === true,
    recordShare: o.recordShare as number,
    ...(o.trainBudget !== undefined ? { trainBudget: o.trainBudget as number } : {}),
    seed: o.seed as number,
  };
}

/** `cache inspect | replay | serve`: online layer caching with early exits. */
export function registerCacheCommands(program: Command): void {
  const cache = program.command('cache').description('online layer caching with early exits for a pretrained classifier');

  modelOptions(cache.command('inspect').description('list the cut points of a model (where caches can attach) with their FLOPs')).action(async (o) => {
    const t = await openCacheTarget(o.model, targetOpts(o));
    const a = t.model.analysis;
    console.log(`${t.name}: input ${a.inputName} [${a.inputShape.join('×')}], ${fmtNum(a.totalFlops / 1e6)} MFLOPs, output ${a.outputIsProbability ? 'probabilities' : 'logits'}`);
    console.log(formatTable(
      ['candidate', 'tensor', 'shape', 'FLOPs before', 'features'],
      a.allCuts.map((c) => {
        const i = t.model.cuts.indexOf(c);
        return [i >= 0 ? `#${i}` : '', c.tensor, c.shape.join('×'), `${((100 * c.flopsBefore) / a.totalFlops).toFixed(1)} %`, i >= 0 ? t.model.featureDims[i]! : ''];
      }),
    ));
  });

  engineOptions(modelOptions(cache.command('replay')))
    .description('replay a stream through the cache next to the plain model: Fashion-MNIST, or your own images (labels used only to score)')
    .option('--data <dir>', 'folder with t10k-images-idx3-ubyte(.gz) (default: the full test set if found, else the bundled 2,000-image sample)')
    .option('--images <dir>', "replay this folder's PNG/JPEG images instead (preprocessed as the server would: see --fit, --mean, --std, --bgr)")
    .option('--labels <file.csv>', "with --images: columns 'file' and 'label' (class index or name), only to score")
    .option('--requests <n>', 'requests to replay (cycles through the images)', positiveInt)
    .option('--shift', 'order the stream by class groups (a distribution shift half-way)')
    .option('--json <file>', 'write the per-window summary and engine stats as JSON')
    .action(async (o) => {
      if (o.labels && !o.images) throw new UserError('goes with --images', '--labels');
      if (o.images && (o.data || o.shift)) throw new UserError('--data and --shift are for the Fashion-MNIST stream, not --images', '--images');
      const t = await openCacheTarget(o.model, targetOpts(o));
      let n: number;
      let input: (i: number) => Float32Array;
      let truth: ((i: number) => number) | null;
      if (o.images) {
        const folder = await loadImageFolder(o.images, t.spec, o.labels, o.requests);
        n = o.requests ?? folder.inputs.length;
        input = (i) => folder.inputs[i % folder.inputs.length]!;
        truth = folder.labels ? (i) => folder.labels![i % folder.labels!.length]! : null;
        console.error(`replaying ${n} requests from ${o.images} (${folder.files.length} images${folder.labels ? ', labelled' : ''})…`);
      } else {
        const set: ImageSet = o.data ? loadImageSet(o.data, 't10k') : (findFullFashionMnist('t10k') ?? bundledFashionMnist());
        if (t.model.inputSize !== set.rows * set.cols) throw new UserError(`model input has ${t.model.inputSize} values; Fashion-MNIST images have ${set.rows * set.cols} (replay your own images with --images DIR)`, '--model');
        n = o.requests ?? set.count;
        const order = streamOrder(set, n, Boolean(o.shift));
        input = (i) => imageAsInput(set, order[i]!);
        truth = (i) => set.labels[order[i]!]!;
        console.error(`replaying ${n} requests from ${set.source} (${set.count} images)${o.shift ? ', shifted class mix' : ''}…`);
      }
      const { engine, costs } = await startEngine(t, engineOpts(o));
      const { engine: baseline } = await startEngine(t, { cache: false }, costs);
      const stop = stopOnSigint();
      const { records, maintenanceMs } = await replayStream(engine, baseline, n, input, truth, {
        stop: stop.flag,
        onRequest: (i) => {
          if ((i + 1) % 1000 === 0) process.stderr.write(`  ${i + 1}/${n}\n`);
        },
      });
      stop.release();
      const F = t.model.analysis.totalFlops;
      const windows = [[0, 1000], [1000, 5000], [5000, 10000], [0, records.length]].filter(([a]) => a! < records.length).map(([a, b]) => summarise(records, a!, Math.min(b!, records.length), F));
      const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
      console.log(formatTable(
        ['requests', 'FLOPs saved', 'p50 ms (backbone)', 'p95 ms (backbone)', 'p50 saved', 'accuracy (backbone)', 'agreement', 'early exits', 'audited'],
        windows.map((w) => [`${w.from}–${w.to}`, pct(w.flopsReduction), `${w.p50.toFixed(3)} (${w.baselineP50.toFixed(3)})`, `${w.p95.toFixed(3)} (${w.baselineP95.toFixed(3)})`, pct(w.latencyReductionP50), w.accuracy === null ? 'n/a (no labels)' : `${pct(w.accuracy)} (${pct(w.backboneAccuracy!)})`, pct(w.agreement), pct(w.earlyExitRate), pct(w.auditRate)]),
      ));
      const s = engine.stats();
      console.log(`enabled caches: ${s.caches.filter((c) => c.enabled).map((c) => `#${c.index} ${c.tensor} (τ=${c.threshold?.toFixed(3)})`).join(', ') || 'none'}; maintenance ${(maintenanceMs / 1000).toFixed(1)} s off the request path`);
      for (const e of s.events) console.log(`  ${e}`);
      if (o.json) writeFileSync(o.json, JSON.stringify({ windows, stats: s, timeline: engine.timeline, costs }, null, 1));
      await engine.dispose();
    });

  engineOptions(modelOptions(cache.command('serve')))
    .description('serve the model over HTTP with online caching (POST /v1/classify, GET /v1/stats)')
    .option('--port <n>', 'port (0 = any free port)', port, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--no-cache', 'serve the unmodified backbone (the baseline)')
    .option('--train-duty <x>', "largest share of the serving thread's wall time spent on cache maintenance between requests (finishing audits, re-planning; and training with --training thread)", fraction, 0.2)
    .option('--maintenance-slice-ms <ms>', 'finish audited requests in slices of about this long between requests (at least one a slice), so a request waits behind at most one slice', positiveNumber, 0.5)
    .action(async (o) => {
      const t = await openCacheTarget(o.model, targetOpts(o));
      const { engine } = await startEngine(t, { ...engineOpts(o), cache: o.cache !== false });
      // fastify is loaded by the commands that serve (~0.1 s every other command would pay)
      const { buildCacheServer } = await import('../serve/cache-server.js');
      const app = buildCacheServer(engine, t.spec, { maintenanceDuty: o.trainDuty, maintenanceSliceMs: o.maintenanceSliceMs });
      const address = await app.listen({ port: o.port, host: o.host });
      console.log(`latencylab cache serve: ${t.name} (${o.cache === false ? 'caching off' : `${t.model.cuts.length} candidate caches`}) listening on ${address}`);
      const close = async () => {
        await app.close();
        await engine.dispose();
        process.exit(0);
      };
      closeOnSignals(close);
    });
}
