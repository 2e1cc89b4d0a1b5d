#!/usr/bin/env node
// Launcher. onnxruntime-node runs each inference as libuv async work; with libuv's default pool of
// 4 threads successive runs hop between threads and cores, which makes timings bimodal (measured:
// up to 2× between sessions of the same model). One pool thread removes that. libuv reads the pool
// size once, before any user code runs, so unless the user chose a size we re-run ourselves with
// UV_THREADPOOL_SIZE=1.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
  });
  // the terminal delivers Ctrl-C to the whole process group: let the child handle it
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  await import(main.href);
}
