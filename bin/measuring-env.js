// The process environment every timing runs in. Both settings are read once, when the process
// starts, so a process that lacks them re-runs itself with them (launch below).
//
// - UV_THREADPOOL_SIZE=1: with libuv's default pool of 4 threads onnxruntime-node timings were
//   bimodal (up to 2× between sessions of the same model); one pool thread removed that.
// - GLIBC_TUNABLES with fixed malloc thresholds: onnxruntime-node hands every output back in a
//   fresh buffer, and glibc's default thresholds move with the allocation pattern, so from one
//   moment to the next such a buffer comes either from memory the process already holds or from
//   memory newly mapped — whose first touch costs a page fault per 4 KiB, ~10 µs each on this VM
//   (measured: the machine probe, 802 KB of output, took 1.34 ms with 0 faults and 3.4–4.3 ms
//   with ~196 faults per run, switching every few hundred ms within one process;
//   scripts/probe-faults.mjs). Fixed thresholds keep freed buffers in the process. bench:drift,
//   the same configurations re-measured minutes later, within ±10 %: 52 % with glibc's defaults vs
//   85 % fixed (add, concat, maxpool, softmax, pwconv, conv2d; two runs each;
//   reports/design-decisions.md). glibc only; elsewhere the variable is ignored.
import { spawn } from 'node:child_process';

export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824';

/** the variables a measuring process needs that `env` does not set (a user's own choice stands) */
export function missingMeasuringEnv(env = process.env) {
  const out = {};
  if (env.UV_THREADPOOL_SIZE === undefined) out.UV_THREADPOOL_SIZE = '1';
  if (env.GLIBC_TUNABLES === undefined && process.platform === 'linux') out.GLIBC_TUNABLES = MALLOC_TUNABLES;
  return out;
}

/**
 * Runs `mainHref` (an ES module URL) in this process when it has the measuring environment or
 * `timesNothing`, and every flag of `v8Flags` (read when V8 starts); else re-runs `script` with
 * the same arguments in a child that has them.
 */
export async function launch(mainHref, script, timesNothing, v8Flags = []) {
  const missing = missingMeasuringEnv();
  // a flag the process was started with under any value is the user's choice and stands
  const flags = v8Flags.filter((f) => !process.execArgv.some((a) => a.split('=')[0] === f.split('=')[0]));
  if ((Object.keys(missing).length && !timesNothing) || flags.length) {
    const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...process.argv.slice(2)], {
      // the IPC channel is the child's lifeline: it closes when this process dies, however it dies
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...missing },
    });
    // Ctrl-C is the child's to handle (stop after the current chunk). A terminal delivers it to
    // the whole group, a `kill -INT` of this process only here: forward it, and the child takes a
    // second copy within SIGINT_REPEAT_MS (src/cli/args.ts) as the same press.
    process.on('SIGINT', () => child.kill('SIGINT'));
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    child.on('exit', (code, signal) => {
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
    return;
  }
  if (process.send && process.channel) {
    // started by the launcher: when the launcher dies (even kill -9, which it cannot catch) the
    // channel closes. A measuring child that outlived it would keep profiling, compete for the CPU
    // and falsify every timing taken on the machine afterwards, so it ends too (the store loses at
    // most the chunk in flight, as with any kill).
    process.channel.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  await import(mainHref);
}
