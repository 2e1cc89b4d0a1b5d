#!/usr/bin/env node
// `node bin/measure-run.js dist/bench/x.js [args…]`: runs a benchmark script in the measuring
// environment (measuring-env.js) — what the npm bench:* scripts use.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch, missingMeasuringEnv } from './measuring-env.js';

const script = process.argv[2];
if (!script) {
  console.error('usage: node bin/measure-run.js <script.js> [args…]');
  process.exit(2);
}
const resolved = path.resolve(script);
// in the process that runs it, the script sees argv as if started directly: [node, script (absolute,
// as Node gives it — 'is this the main module' checks compare it), args…]
if (Object.keys(missingMeasuringEnv()).length === 0) process.argv.splice(1, 2, resolved);
const href = pathToFileURL(resolved).href;
await launch(href, fileURLToPath(import.meta.url), false);
