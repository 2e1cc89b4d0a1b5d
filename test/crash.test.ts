import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Store } from '../src/store/db.js';
import { cli, cliChild, tempDir } from './helpers.js';

function countSamples(db: string, name: string): number {
  const store = new Store(db);
  try {
    const d = store.getDataset(name);
    return d ? store.samples(d.id).length : 0;
  } finally {
    store.close();
  }
}

describe('crash safety', () => {
  it('kill -9 mid-run, run again: continues where it stopped, no duplicate or lost sample', async () => {
    const db = path.join(tempDir(), 'crash.db');
    const args = ['profile', '-m', 'conv2d', '-n', '60', '--max-time-ms', '40', '--name', 'k'];
    const child = cliChild(args, db);
    const deadline = Date.now() + 90_000;
    while (countSamples(db, 'k') < 8) {
      if (Date.now() > deadline) throw new Error('child made no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = new Store(db);
    const ds = before.requireDataset('k');
    const kept = before.samples(ds.id);
    before.close();
    expect(kept.length).toBeGreaterThanOrEqual(8);
    expect(kept.length).toBeLessThan(60);

    const r = cli(args, db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`resuming, ${kept.length}/60`));
    const after = new Store(db);
    const all = after.samples(ds.id);
    after.close();
    expect(all).toHaveLength(60);
    expect(new Set(all.map((s) => s.idx)).size).toBe(60);
    // the samples measured before the crash are untouched
    for (const k of kept) expect(all.find((s) => s.idx === k.idx)!.median_ms).toBe(k.median_ms);
  }, 180_000);
});

/**
 * `latencylab profile` of 2,000 `add` samples through the launcher, which re-runs itself as the
 * measuring child; resolves once 8 samples are stored, with the child's pid.
 */
async function profilingLauncher(db: string, name: string, stdio: 'ignore' | 'pipe') {
  const { spawn, spawnSync } = await import('node:child_process');
  const env: NodeJS.ProcessEnv = { ...process.env, LATENCYLAB_MAIN: new URL('../src/cli/main.ts', import.meta.url).href };
  delete env.UV_THREADPOOL_SIZE; // so the launcher re-runs itself as the measuring child
  const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'latencylab.js');
  const launcher = spawn(process.execPath, ['--import', 'tsx', bin, '--db', db, 'profile', '-m', 'add', '-n', '2000', '--max-time-ms', '20', '--name', name], { env, stdio: ['ignore', stdio, stdio] });
  const deadline = Date.now() + 90_000;
  while (countSamples(db, name) < 8) {
    if (Date.now() > deadline) throw new Error('no progress');
    await new Promise((r) => setTimeout(r, 100));
  }
  const childPid = Number(spawnSync('pgrep', ['-P', String(launcher.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
  return { launcher, childPid };
}

describe('the launcher', () => {
  it('runs commands that time nothing in its own process, everything else (and anything new) as a one-pool-thread child', async () => {
    // @ts-expect-error plain-JS launcher module, no type declarations
    const { timesNothing } = (await import('../bin/launch-policy.js')) as { timesNothing: (args: string[]) => boolean };
    for (const args of [[], ['--help'], ['--db', 'x.db', 'datasets'], ['predict', 'm.onnx', '-d', 'ort-cpu'], ['monotonicity', '--space', 'nb201'], ['serve', '--port', '0'], ['profile', '--help']]) {
      expect(timesNothing(args), args.join(' ')).toBe(!(args[0] === 'profile'));
    }
    for (const args of [['profile', '-m', 'add'], ['--db', 'datasets', 'measure', 'm.onnx'], ['predict', 'm.onnx', '--now'], ['demo'], ['cache', 'serve'], ['some-new-command']]) {
      expect(timesNothing(args), args.join(' ')).toBe(false);
    }
  });

  it('starts the caching engine\'s processes (cache serve, cache replay) with a larger initial old space, nothing else', async () => {
    // @ts-expect-error plain-JS launcher module, no type declarations
    const { v8FlagsFor, ENGINE_V8_FLAGS } = (await import('../bin/launch-policy.js')) as { v8FlagsFor: (args: string[]) => string[]; ENGINE_V8_FLAGS: string[] };
    expect(ENGINE_V8_FLAGS).toEqual(['--initial-old-space-size=64']);
    for (const args of [['cache', 'serve', '--model', 'fmnist'], ['--db', 'x.db', 'cache', 'replay']]) expect(v8FlagsFor(args), args.join(' ')).toEqual(ENGINE_V8_FLAGS);
    for (const args of [['cache', 'inspect'], ['serve', '--port', '0'], ['predict', 'm.onnx'], [], ['--db', 'cache', 'datasets']]) expect(v8FlagsFor(args), args.join(' ')).toEqual([]);
  });

  it('gives every measuring process one libuv pool thread and fixed malloc thresholds, keeping a user\'s own settings', async () => {
    // @ts-expect-error plain-JS launcher module, no type declarations
    const { missingMeasuringEnv, MALLOC_TUNABLES } = (await import('../bin/measuring-env.js')) as { missingMeasuringEnv: (env: NodeJS.ProcessEnv) => Record<string, string>; MALLOC_TUNABLES: string };
    const linux = process.platform === 'linux';
    expect(missingMeasuringEnv({})).toEqual({ UV_THREADPOOL_SIZE: '1', ...(linux ? { GLIBC_TUNABLES: MALLOC_TUNABLES } : {}) });
    expect(missingMeasuringEnv({ UV_THREADPOOL_SIZE: '4', GLIBC_TUNABLES: '' })).toEqual({});
    expect(MALLOC_TUNABLES).toMatch(/^glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.trim_threshold=\d+$/);
    // a benchmark script started through measure-run sees the environment and its own arguments
    const { spawnSync } = await import('node:child_process');
    const dir = tempDir();
    const script = path.join(dir, 'show.mjs');
    writeFileSync(script, 'console.log(JSON.stringify({ argv: process.argv.slice(1), uv: process.env.UV_THREADPOOL_SIZE, gt: process.env.GLIBC_TUNABLES ?? null, main: import.meta.url === `file://${process.argv[1]}` }));');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.UV_THREADPOOL_SIZE;
    delete env.GLIBC_TUNABLES;
    const runner = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'measure-run.js');
    const r = spawnSync(process.execPath, [runner, script, 'a', '--b'], { env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ argv: [script, 'a', '--b'], uv: '1', gt: linux ? MALLOC_TUNABLES : null, main: true });
    const none = spawnSync(process.execPath, [runner], { env, encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/usage: node bin\/measure-run\.js <script\.js>/);
  });

  it('kill -9 of the launcher a user started: its measuring child ends too (no orphan keeps profiling)', async () => {
    const db = path.join(tempDir(), 'orphan.db');
    const { launcher, childPid } = await profilingLauncher(db, 'o', 'ignore');
    expect(childPid).toBeGreaterThan(0);
    launcher.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(childPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 10_000;
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    const n = countSamples(db, 'o');
    await new Promise((r) => setTimeout(r, 1500));
    expect(countSamples(db, 'o')).toBe(n); // nothing writes to the store any more
    expect(n).toBeLessThan(2000);
  });
  // a terminal's Ctrl-C reaches the launcher and the child; `kill -INT <launcher>` only the launcher
  for (const delivery of ['launcher', 'group'] as const) {
    it(`Ctrl-C (${delivery === 'group' ? 'the whole process group, as a terminal sends it' : 'sent to the launcher alone'}): the measuring child stops after its chunk, once, keeping what it measured`, async () => {
      const db = path.join(tempDir(), 'int.db');
      const { launcher, childPid } = await profilingLauncher(db, 'i', 'pipe');
      let out = '';
      let err = '';
      launcher.stdout!.on('data', (d) => (out += String(d)));
      launcher.stderr!.on('data', (d) => (err += String(d)));
      const exited = new Promise<number | null>((r) => (launcher.exitCode !== null ? r(launcher.exitCode) : launcher.on('exit', (code) => r(code))));
      expect(childPid).toBeGreaterThan(0);
      launcher.kill('SIGINT');
      if (delivery === 'group') process.kill(childPid, 'SIGINT');
      // not stopped within 30 s: fail, and leave no profiler running (the child follows the launcher)
      const timeout = setTimeout(() => launcher.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timeout);
      expect(code).toBe(130);
      expect(err.match(/stopping after the current chunk/g)?.length).toBe(1);
      // a graceful stop: the child reports what it stored (an immediate exit would not)
      const stored = /i: (\d+)\/2000 samples stored/.exec(out);
      expect(stored).not.toBeNull();
      expect(countSamples(db, 'i')).toBe(Number(stored![1]));
      expect(Number(stored![1])).toBeLessThan(2000);
    });
  }
});

describe('two profilers of one dataset', () => {
  it('the second is refused with a clear message (no UNIQUE error), and a killed holder does not block a rerun', async () => {
    const db = path.join(tempDir(), 'twice.db');
    const args = ['profile', '-m', 'add', '-n', '150', '--max-time-ms', '20', '--name', 'twice'];
    const first = cliChild(args, db);
    const deadline = Date.now() + 90_000;
    while (countSamples(db, 'twice') < 8) {
      if (Date.now() > deadline) throw new Error('no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = cli(args, db);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/dataset 'twice': is being profiled by process \d+ on .* two profilers at once share the CPU and falsify each other's timings/);
    expect(second.stderr).not.toMatch(/UNIQUE|internal error/);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const kept = countSamples(db, 'twice');
    const resume = cli(args, db);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stderr).toMatch(new RegExp(`resuming, ${kept}/150`));
    expect(countSamples(db, 'twice')).toBe(150);
  });
});
