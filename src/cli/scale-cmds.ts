import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { fraction, positiveInt, positiveNumber } from './args.js';
import { defaultDataDir, formatArch, loadLatencyData, parseArch, SEARCH_SPACES } from '../data/latency.js';
import { toOnnx } from '../ir/onnx.js';
import { nb201Network } from '../modelgen/nb201.js';
import { measureModel } from '../profile/model-timing.js';
import { collectFromFleet } from './fleet-cmds.js';
import { heatmap, renderVegaLite } from '../report/plot.js';
import { decideDesign, designObjective, loadScaleModel, saveScaleModel, shortlistDesigns, trainScaleModel } from '../scale/design.js';
import { readDeviceLatencies, referenceLatencies } from '../scale/device-file.js';
import { monotonicity } from '../scale/monotonicity.js';
import { proxyReuse, PROXY_MAPPINGS } from '../scale/proxy.js';
import { UserError } from '../util/errors.js';
import { formatTable } from './table.js';

const defaultModelFile = (space: string) => path.join('.latencylab', `design-${space}.json`);

/** `monotonicity`, `proxy` and `design`: scaling to many devices over the bundled NAS latency tables. */
export function registerScaleCommands(program: Command): void {
  program
    .command('monotonicity')
    .description('how alike devices rank the architectures of a space: Spearman/Kendall matrix, clusters, heatmap')
    .addOption(new Option('--space <name>', 'search space').choices([...SEARCH_SPACES]).default('nb201'))
    .option('--threshold <rho>', 'merge device clusters while their mean Spearman is at least this', fraction, 0.9)
    .option('--plot <file.svg>', 'write the Spearman heatmap (SVG, and PNG next to it)')
    .option('--json <file>', 'write the matrices and clusters as JSON')
    .option('--data <dir>', 'latency data folder', defaultDataDir())
    .action(async (o) => {
      if (o.plot && !String(o.plot).endsWith('.svg')) throw new UserError(`expected a file name ending in .svg, got '${o.plot}'`, '--plot');
      const data = loadLatencyData(o.space, o.data);
      const m = monotonicity(data, { threshold: o.threshold });
      const rows = m.devices.map((d, i) => {
        const others = m.devices.map((e, j) => ({ e, rho: m.spearman[i]![j]!, tau: m.kendall[i]![j]! })).filter((x) => x.e !== d);
        const near = others.reduce((a, b) => (b.rho > a.rho ? b : a));
        const far = others.reduce((a, b) => (b.rho < a.rho ? b : a));
        return [d, m.clusters.findIndex((c) => c.includes(d)) + 1, `${near.e} (ρ ${near.rho.toFixed(3)}, τ ${near.tau.toFixed(3)})`, `${far.e} (ρ ${far.rho.toFixed(3)})`];
      });
      console.log(`${data.space}: Spearman over all ${data.ops.length} architectures, Kendall τ-b on a fixed subset of 2,000`);
      console.log(formatTable(['device', 'cluster', 'most alike', 'least alike'], rows));
      console.log(`\nclusters (average linkage, mean Spearman inside ≥ ${o.threshold}):`);
      m.clusters.forEach((c, i) => console.log(`  ${i + 1}. ${c.join(', ')}`));
      if (o.json) writeFileSync(o.json, JSON.stringify(m, null, 1));
      if (o.plot) {
        const cells = m.devices.flatMap((r, i) => m.devices.map((c, j) => ({ row: r, col: c, value: m.spearman[i]![j]! })));
        const out = await renderVegaLite(heatmap(cells, m.devices, { title: `${data.space}: Spearman ρ of device latencies`, value: 'ρ', domain: [0, 1] }), o.plot);
        console.log(`heatmap: ${out.svg}, ${out.png}`);
      }
    });

  program
    .command('proxy')
    .description('predict every architecture on a new device from a few measured ones, by reusing the best-agreeing device of the table')
    .addOption(new Option('--space <name>', 'search space').choices([...SEARCH_SPACES]).default('nb201'))
    .requiredOption('--device-latencies <file.csv>', "what you measured: columns 'arch' (id or architecture string) and 'latency_ms', 3 rows or more")
    .option('--proxies <list>', 'comma-separated candidate devices (default: every device of the table)')
    .option('--combine <n>', 'average the n best-agreeing devices', positiveInt, 1)
    .addOption(new Option('--mapping <name>', 'monotone map from the proxy to your milliseconds').choices([...PROXY_MAPPINGS]).default('loglinear'))
    .option('--out <file.csv>', 'write arch,predicted_ms for every architecture')
    .option('--data <dir>', 'latency data folder', defaultDataDir())
    .action((o) => {
      const data = loadLatencyData(o.space, o.data);
      const measured = readDeviceLatencies(o.deviceLatencies, data);
      const candidates = o.proxies ? String(o.proxies).split(',').map((s: string) => s.trim()) : data.devices;
      for (const d of candidates) if (!data.latency.has(d)) throw new UserError(`unknown device '${d}', expected some of: ${data.devices.join(', ')}`, '--proxies');
      const rows = [...measured.latency.keys()];
      const p = proxyReuse(data, candidates, rows, rows.map((r) => measured.latency.get(r)!), { combine: o.combine, mapping: o.mapping });
      const pred = p.predictAllMs();
      console.log(`proxy: ${p.proxies.map((d, i) => `${d} (Spearman ${p.agreement[i]!.toFixed(3)} on your ${rows.length})`).join(' + ')}, ${o.mapping} map`);
      const order = [...pred.keys()].sort((a, b) => pred[a]! - pred[b]!);
      console.log(formatTable(['', 'architecture', 'predicted ms'], [
        ...order.slice(0, 3).map((a) => ['fastest', formatArch(data.space, data.ops[a]!), pred[a]!]),
        ...order.slice(-3).map((a) => ['slowest', formatArch(data.space, data.ops[a]!), pred[a]!]),
      ]));
      if (o.out) {
        writeFileSync(o.out, 'arch,predicted_ms\n' + Array.from(pred, (v, i) => `${i},${v.toPrecision(6)}`).join('\n') + '\n');
        console.log(`wrote ${pred.length} predictions to ${o.out}`);
      }
    });

  program
    .command('measure-archs')
    .description("build NAS-Bench-201 candidates as ONNX and time them on this machine (or queue them for a fleet): a device's reference latencies for `design` / `proxy`")
    .option('--archs <list>', "'refs' (the 10 reference architectures) or comma-separated ids", 'refs')
    .addOption(new Option('-d, --device <name>', 'device').choices(['ort-cpu', 'ort-wasm']).default('ort-cpu'))
    .option('-t, --threads <n>', 'intra-op threads', positiveInt, 1)
    .option('--out <file.csv>', "write arch,latency_ms (the input of design and proxy)")
    .option('--fleet', 'queue them for the agents of a fleet store instead (needs --store); run again to collect')
    .option('--store <url>', 'fleet store: postgres://user:password@host:5432/db')
    .option('--data <dir>', 'latency data folder', defaultDataDir())
    .action(async (o) => {
      const data = loadLatencyData('nb201', o.data);
      const archs = o.archs === 'refs' ? data.referenceArchs : String(o.archs).split(',').map((t) => parseArch(data, t, '--archs'));
      const models = archs.map((a) => ({ arch: a, name: `nb201-${a}`, bytes: toOnnx(nb201Network(data.ops[a]!, `nb201-${a}`)), inputs: [{ name: 'input', shape: [1, 3, 32, 32] }] }));
      const rows: Array<[number, number | undefined]> = [];
      if (o.fleet || o.store) {
        if (!o.fleet || !o.store) throw new UserError('--fleet and --store go together', o.fleet ? '--store' : '--fleet');
        const got = await collectFromFleet(o.store, models, o.device, o.threads);
        got.forEach((ms, i) => rows.push([models[i]!.arch, ms]));
        const missing = rows.filter((r) => r[1] === undefined).length;
        console.log(missing ? `${missing} of ${rows.length} not timed yet (queued for ${o.device}/t${o.threads}); run this again when the agents are done` : `all ${rows.length} timed by the fleet`);
      } else {
        for (const m of models) {
          const r = await measureModel(m.bytes, m.inputs, o.device, o.threads);
          rows.push([m.arch, r.stats.latencyMs]);
          process.stderr.write(`  ${m.name}: ${r.stats.latencyMs.toFixed(3)} ms\n`);
        }
      }
      const done = rows.filter((r): r is [number, number] => r[1] !== undefined);
      console.log(formatTable(['arch', 'architecture', 'latency ms'], done.map(([a, ms]) => [a, formatArch('nb201', data.ops[a]!), ms])));
      if (o.out && done.length) {
        writeFileSync(o.out, 'arch,latency_ms\n' + done.map(([a, ms]) => `${a},${ms.toPrecision(6)}`).join('\n') + '\n');
        console.log(`wrote ${done.length} rows to ${o.out}`);
      }
    });

  program
    .command('design')
    .description("answer a design for a device described only by its measured reference architectures, under a latency budget")
    .addOption(new Option('--space <name>', 'search space').choices([...SEARCH_SPACES]).default('nb201'))
    .requiredOption('--device-latencies <file.csv>', "columns 'arch' and 'latency_ms' with the space's 10 reference architectures (ids in data/latency/<space>/hardware_embedding_index.json)")
    .requiredOption('--budget-ms <ms>', 'latency budget on that device', positiveNumber)
    .option('--model <file>', 'trained optimiser + predictor (trained and saved there on first use)')
    .option('--retrain', 'train the model again even if the file exists')
    .option('--train-steps <n>', 'training steps of each network (default 3000)', positiveInt)
    .option('--shortlist <n>', 'also list up to n designs to measure on the device in this order, keeping the first that meets the budget (bolder, more accurate designs first; the answer above last)', positiveInt)
    .option('--json', 'print the answer as JSON')
    .option('--data <dir>', 'latency data folder', defaultDataDir())
    .action(async (o) => {
      const data = loadLatencyData(o.space, o.data);
      // the input is checked before any training
      const measured = readDeviceLatencies(o.deviceLatencies, data);
      const refLat = referenceLatencies(measured, data);
      const file = o.model ?? defaultModelFile(data.space);
      if (o.retrain || !existsSync(file)) {
        const t0 = Date.now();
        const model = await trainScaleModel(data, data.devices, { steps: o.trainSteps }, (s) => process.stderr.write(s + '\n'));
        saveScaleModel(file, model);
        process.stderr.write(`saved ${file} (trained on all ${data.devices.length} devices of the table in ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
      const { pair, optimiser, rule, calibration } = loadScaleModel(file, data);
      const t1 = performance.now();
      const device = pair.forDevice(refLat, calibration);
      const answer = decideDesign(optimiser, device, o.budgetMs, designObjective(data).values, rule, measured.latency);
      if (!answer.feasible) {
        // below every design of the space (as predicted for this device): nothing to answer
        const all = device.predictAllMs();
        const fastest = all.reduce((b, v, a) => (v < all[b]! ? a : b), 0);
        if (o.budgetMs < all[fastest]!) {
          throw new UserError(`no ${data.space} design is predicted to meet ${o.budgetMs} ms on this device: the fastest predicted is ${formatArch(data.space, data.ops[fastest]!)} (id ${fastest}) at ${all[fastest]!.toFixed(3)} ms`, '--budget-ms');
        }
      }
      const shortlist = o.shortlist ? shortlistDesigns(optimiser, device, o.budgetMs, designObjective(data).values, rule, o.shortlist) : undefined;
      const ms = performance.now() - t1;
      const objective = designObjective(data);
      const result = {
        space: data.space,
        arch: answer.arch,
        architecture: formatArch(data.space, data.ops[answer.arch]!),
        predictedMs: answer.predictedMs,
        budgetMs: o.budgetMs,
        meetsBudgetPredicted: answer.feasible,
        measuredOnDevice: answer.measured === true,
        objective: objective.name,
        objectiveValue: objective.values[answer.arch]!,
        candidatesChecked: answer.checked,
        predictorSpreadPct: (Math.exp(device.logSpread) - 1) * 100,
        additiveModelWeight: device.additiveWeight,
        answeredInMs: ms,
        ...(shortlist ? { shortlist: shortlist.map((d) => ({ arch: d.arch, architecture: formatArch(data.space, data.ops[d.arch]!), predictedMs: d.predictedMs, objectiveValue: objective.values[d.arch]! })) } : {}),
      };
      if (o.json) return console.log(JSON.stringify(result, null, 1));
      console.log(`design: ${result.architecture} (id ${result.arch})`);
      if (answer.measured) console.log(`measured ${result.predictedMs.toFixed(2)} ms on this device (budget ${o.budgetMs} ms; from ${o.deviceLatencies}), more accurate than the optimiser's pick; ${objective.name}: ${Number(result.objectiveValue).toFixed(2)}`);
      else console.log(`predicted ${result.predictedMs.toFixed(2)} ms on this device (budget ${o.budgetMs} ms; predictor spread on your references ±${result.predictorSpreadPct.toFixed(1)} %${device.additiveWeight > 0 ? `, ${(100 * device.additiveWeight).toFixed(0)} % of the answer from the additive per-op cost model` : ''}); ${objective.name}: ${Number(result.objectiveValue).toFixed(2)}`);
      if (!answer.feasible) console.log(`no candidate is predicted to meet ${o.budgetMs} ms with the safety margin: this is the fastest predicted; consider a larger budget`);
      if (result.shortlist) {
        console.log(`\nto verify on the device: measure in this order and keep the first that meets ${o.budgetMs} ms`);
        console.log(formatTable(['#', 'arch', 'architecture', 'predicted ms', objective.name], result.shortlist.map((d, i) => [i + 1, d.arch, d.architecture, d.predictedMs.toFixed(2), Number(d.objectiveValue).toFixed(2)])));
      }
      console.log(`answered in ${ms.toFixed(1)} ms (${answer.checked} of the optimiser's ${rule.candidates} candidates predicted by the (DNN, device) predictor, most accurate first)`);
    });
}
