#!/usr/bin/env node
// Launcher. With libuv's default pool of 4 threads, onnxruntime-node timings were bimodal
// (measured: up to 2× between sessions of the same model); one pool thread removed that. The
// mechanism is not established: in onnxruntime-node 1.30 `session.run` itself executes on the main
// thread after a setImmediate hop (its backend.js), not as pool work, so the pool acts through
// other async work. libuv reads the pool size once, before any user code runs, so unless the user
// chose a size we re-run ourselves with UV_THREADPOOL_SIZE=1 (for every command that may time something).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { timesNothing } from './launch-policy.js';

// LATENCYLAB_MAIN lets the tests run the launcher against the TypeScript sources (with tsx)
const main = new URL(process.env.LATENCYLAB_MAIN ?? '../dist/cli/main.js', import.meta.url);

if (process.env.UV_THREADPOOL_SIZE === undefined && !timesNothing(process.argv.slice(2))) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    // the IPC channel is the child's lifeline: it closes when this process dies, however it dies
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
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
  if (process.send && process.channel) {
    // started by the launcher: when the launcher dies (even kill -9, which it cannot catch) the
    // channel closes. A measuring child that outlived it would keep profiling, compete for the CPU
    // and falsify every timing taken on the machine afterwards, so it ends too (the store loses at
    // most the chunk in flight, as with any kill).
    process.channel.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  await import(main.href);
}
