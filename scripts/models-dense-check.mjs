// Dense-prediction networks at PaddleOCR-like resolutions (256–640² inputs, U-Net-style, some with
// Paddle's x·Clip(x+3,0,6)/6 hard-swish and squeeze-excite scaling): generated, measured end to end
// on ort-cpu, and predicted by each variant of the whole-model predictor — the large-map regime the
// bench's generated networks (≤ 224²) barely reach (reports/models-history.md, session 37).
//   npm run build && node scripts/models-dense-check.mjs OUT [name=store.db[:ew] …]
// OUT/nets/*.onnx and OUT/measured.json are made once (measuring, with the machine probe before each
// pass — MEASURE_DB, default .latencylab/models.db, must hold predictors; run alone; ~3 min for
// COUNT=24 networks × 3 passes on 1 thread), then reused. Each variant predicts every network with
// `latencylab predict --json` on its store (LL_BIN: the CLI to run, e.g. a worktree with
// scripts/models-large-maps.patch applied; ':ew' sets LL_EW for it), scaled to the machine state of
// the measurement (the passes' median probe against the calibration's).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [out, ...variants] = process.argv.slice(2);
if (!out) {
  console.error('usage: node scripts/models-dense-check.mjs OUT [name=store.db[:ew] …]');
  process.exit(2);
}
const COUNT = Number(process.env.COUNT ?? 24);
const THREADS = Number(process.env.THREADS ?? 1);
const { GraphBuilder } = await import('../dist/ir/graph.js');
const { toOnnx } = await import('../dist/ir/onnx.js');
const { Rng } = await import('../dist/util/random.js');
const { pick } = await import('../dist/modelgen/blocks.js');
const { dbnetBody, DBNET_RES } = await import('../dist/modelgen/families.js');
const { median } = await import('../dist/util/stats.js');

function dense(seed) {
  const rng = new Rng(seed);
  const res = pick(rng, DBNET_RES);
  const b = new GraphBuilder(`dense-${seed}`, seed);
  const config = dbnetBody(rng, b, b.input('input', [1, 3, res, res]));
  return { name: `dense-${seed}`, bytes: toOnnx(b.build()), config: { res, ...config } };
}

const cli = (bin, args, env = {}) => JSON.parse(execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 }));
mkdirSync(path.join(out, 'nets'), { recursive: true });
const measuredFile = path.join(out, 'measured.json');
let measured = existsSync(measuredFile) ? JSON.parse(readFileSync(measuredFile, 'utf8')) : [];
if (!measured.length) {
  for (let seed = 1; seed <= COUNT; seed++) {
    const m = dense(seed);
    const file = path.join(out, 'nets', `${m.name}.onnx`);
    writeFileSync(file, m.bytes);
    // --compare on a store with predictors: the machine probe is timed before each pass
    const r = cli('bin/latencylab.js', ['--db', process.env.MEASURE_DB ?? '.latencylab/models.db', 'measure', file, '--compare', '--threads', String(THREADS), '--passes', '3', '--json']);
    const probes = r.passes.map((p) => p.probeMs).filter((x) => x !== undefined);
    measured.push({ name: m.name, file, config: m.config, latencyMs: r.latencyMs, probeMs: probes.length ? median(probes) : undefined });
    console.error(`${m.name} ${JSON.stringify(m.config)}: ${r.latencyMs.toFixed(2)} ms`);
  }
  writeFileSync(measuredFile, JSON.stringify(measured, null, 1));
}

console.log(`${measured.length} dense networks, ort-cpu ${THREADS} thread(s): median measured ${median(measured.map((m) => m.latencyMs)).toFixed(1)} ms`);
console.log('variant | ±10 % | MAPE % | median predicted / measured');
for (const v of variants) {
  const [name, spec] = v.split('=');
  const [db, ew = ''] = spec.split(':');
  const errs = measured.map((m) => {
    const p = cli(process.env.LL_BIN ?? 'bin/latencylab.js', ['--db', db, 'predict', m.file, '--threads', String(THREADS), '--json'], { LL_EW: ew });
    const pred = p.probeMs && m.probeMs ? (p.totalMs * m.probeMs) / p.probeMs : p.totalMs;
    return pred / m.latencyMs;
  });
  const within = errs.filter((r) => Math.abs(r - 1) <= 0.1).length / errs.length;
  const mape = (100 * errs.reduce((s, r) => s + Math.abs(r - 1), 0)) / errs.length;
  console.log(`${name} | ${(100 * within).toFixed(1)} % | ${mape.toFixed(1)} | ${median(errs).toFixed(3)}`);
}
