import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { phaseProgress } from '../src/cli/progress.js';
import { Store } from '../src/store/db.js';
import { cli, tempDir } from './helpers.js';

describe('CLI: bad input gets one clear error, a non-zero exit and nothing stored', () => {
  const dir = tempDir();
  const db = path.join(dir, 'cli.db');
  const cases: Array<[string, string[], RegExp, (() => void)?]> = [
    ['unknown module', ['profile', '-m', 'conv3d'], /error: module: unknown module 'conv3d', expected one of: conv2d, dwconv/],
    ['unknown device', ['profile', '-m', 'conv2d', '-d', 'tpu'], /error: device: unknown device 'tpu', expected one of: ort-cpu, ort-wasm, tfjs-wasm/],
    ['missing space file', ['profile', '-m', 'conv2d', '--space', path.join(dir, 'nope.json')], /nope\.json: cannot read space file \(ENOENT\)/],
    ['broken JSON', ['profile', '-m', 'conv2d', '--space', path.join(dir, 'broken.json')], /broken\.json: not valid JSON/, () => writeFileSync(path.join(dir, 'broken.json'), '{"params": {')],
    ['impossible shape', ['profile', '-m', 'conv2d', '--space', path.join(dir, 'imp.json')], /no valid configuration.*kernel 9 .*larger than the padded input 4/, () =>
      writeFileSync(path.join(dir, 'imp.json'), JSON.stringify({ params: { hw: [4], k: [9], pad: ['valid'] } }))],
    ['bad field', ['profile', '-m', 'conv2d', '--space', path.join(dir, 'bad.json')], /bad\.json: params\.stride: every value must be an integer/, () =>
      writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ params: { stride: ['two'] } }))],
    ['bad threads', ['profile', '-m', 'conv2d', '--threads', 'many'], /--threads: expected positive integers/],
    ['bad samples', ['profile', '-m', 'conv2d', '--samples', '-3'], /--samples.*expected an integer >= 1/],
    ['too many passes', ['profile', '-m', 'conv2d', '--passes', '9'], /error: --passes: expected a whole number of passes from 1 to 5, got 9/],
    ['passes on a fleet', ['profile', '-m', 'conv2d', '--passes', '2', '--fleet', '--store', 'postgres://x@localhost:1/db'], /error: --passes: is not supported with --fleet yet/],
    ['unknown dataset', ['export', '--dataset', 'nope'], /no dataset named 'nope'/],
  ];
  for (const [what, args, msg, setup] of cases) {
    it(what, () => {
      setup?.();
      const r = cli(args, db);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
  it('stored nothing half-way', () => {
    const store = new Store(db);
    expect(store.listDatasets()).toEqual([]);
    store.close();
  });

  it('profile → datasets → export → train → predict works end to end', () => {
    const space = path.join(dir, 'ok.json');
    writeFileSync(space, JSON.stringify({ params: { hw: { min: 4, max: 24 }, cin: [8, 16, 32], cout: [8, 16, 32], batch: [1] } }));
    const p = cli(['profile', '-m', 'conv2d', '-n', '40', '--space', space, '--max-time-ms', '20', '--name', 'c'], db);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/c: 40\/40 samples stored/);
    expect(cli(['datasets'], db).stdout).toMatch(/c\s+conv2d\s+ort-cpu\s+random\s+40\s+40/);
    const out = path.join(dir, 'c.csv');
    expect(cli(['export', '--dataset', 'c', '-o', out], db).code).toBe(0);
    const t = cli(['train', '--dataset', 'c'], db);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/loglinear/);
    expect(t.stdout).toMatch(/✔/);
    // 8 validation rows are too few to tell the models apart: chosen out of fold over all 40
    expect(t.stdout).toMatch(/chosen on 5-fold cross-validation over all 40 samples/);
    expect(t.stdout).toMatch(/split ±10 %/);
    const split = cli(['train', '--dataset', 'c', '--kinds', 'loglinear,gbt', '--cv-folds', '0'], db);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toMatch(/chosen on 8 validation samples/);
    for (const bad of ['1', '-2', 'many', '41']) {
      const r = cli(['train', '--dataset', 'c', '--kinds', 'loglinear', '--cv-folds', bad], db);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--cv-folds: /);
    }
    const pr = cli(['predict', '--dataset', 'c', '--params', '{"batch":1,"hw":16,"cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}'], db);
    expect(pr.code, pr.stderr).toBe(0);
    expect(Number(pr.stdout.split(' ')[0])).toBeGreaterThan(0);
    const bad = cli(['predict', '--dataset', 'c', '--params', '{"batch":1,"hw":2,"cin":16,"cout":16,"k":7,"stride":1,"groups":1,"pad":"valid"}'], db);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/kernel/);
    const typed = cli(['predict', '--dataset', 'c', '--params', '{"batch":1,"hw":"16","cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}'], db);
    expect(typed.code).toBe(2);
    expect(typed.stderr).toMatch(/params\.hw: expected an integer >= 1, got "16"/);
    const far = cli(['predict', '--dataset', 'c', '--params', '{"batch":1,"hw":64,"cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}'], db);
    expect(far.code, far.stderr).toBe(0);
    expect(far.stdout).toMatch(/EXTRAPOLATED: hw=64 > 2\d/);
    const noProbe = cli(['predict', '--dataset', 'c', '--params', '{"batch":1,"hw":16,"cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}', '--now'], db);
    expect(noProbe.code).toBe(2);
    expect(noProbe.stderr).toMatch(/--now: dataset 'c' was profiled without the machine probe/);
    // profiled with the probe: the prediction is at the training data's machine state, --now rescales it by a probe timed now
    expect(cli(['profile', '-m', 'conv2d', '-n', '24', '--space', space, '--max-time-ms', '20', '--name', 'cp', '--probe'], db).code).toBe(0);
    expect(cli(['train', '--dataset', 'cp', '--kinds', 'loglinear,gbt'], db).code).toBe(0);
    const now = cli(['predict', '--dataset', 'cp', '--params', '{"batch":1,"hw":16,"cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}', '--now', '--json'], db);
    expect(now.code, now.stderr).toBe(0);
    const r = JSON.parse(now.stdout) as { ms: number; probeMs: number; device: string; now: { probeMs: number; ms: number } };
    expect(r.device).toBe('ort-cpu');
    expect(r.probeMs).toBeGreaterThan(0);
    expect(r.now.ms / r.ms).toBeCloseTo(r.now.probeMs / r.probeMs, 6);
    // profiled with the reference configuration and trained at its state: --now times the reference
    expect(cli(['profile', '-m', 'conv2d', '-n', '24', '--space', space, '--max-time-ms', '20', '--name', 'cr', '--reference', '--no-quiet-gate'], db).code).toBe(0);
    const badState = cli(['train', '--dataset', 'cr', '--machine-state', 'reference:x'], db);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/--machine-state: expected auto, raw, probe\[:seconds\] or reference\[:seconds\], got 'reference:x'/);
    const noSignal = cli(['train', '--dataset', 'cr', '--machine-state', 'probe'], db);
    expect(noSignal.code).toBe(2);
    expect(noSignal.stderr).toMatch(/the samples carry no probe timing \(profile with --probe\)/);
    const trainedRef = cli(['train', '--dataset', 'cr', '--kinds', 'loglinear,gbt', '--machine-state', 'reference'], db);
    expect(trainedRef.code, trainedRef.stderr).toBe(0);
    expect(trainedRef.stdout).toMatch(/machine state: reference, ±0 s \(--machine-state\)/);
    const nowRef = cli(['predict', '--dataset', 'cr', '--params', '{"batch":1,"hw":16,"cin":16,"cout":16,"k":3,"stride":1,"groups":1,"pad":"same"}', '--now', '--json'], db);
    expect(nowRef.code, nowRef.stderr).toBe(0);
    const rr = JSON.parse(nowRef.stdout) as { ms: number; refMs: number; probeMs?: number; now: { refMs: number; ms: number } };
    expect(rr.probeMs).toBeUndefined();
    expect(rr.refMs).toBeGreaterThan(0);
    expect(rr.now.ms / rr.ms).toBeCloseTo(rr.now.refMs / rr.refMs, 6);
    const obj = cli(['train', '--dataset', 'c', '--objective', 'fast'], db);
    expect(obj.code).toBe(2);
    expect(obj.stderr).toMatch(/--objective: expected one of accuracy, time, space, balanced, got 'fast'/);
    const lim = cli(['train', '--dataset', 'c', '--kinds', 'loglinear,knn', '--max-bytes', '1'], db);
    expect(lim.code).toBe(2);
    expect(lim.stderr).toMatch(/--max-bytes: no regression model meets the limits/);
    const kinds = cli(['train', '--dataset', 'c', '--kinds', 'loglinear,gbt', '--objective', 'space'], db);
    expect(kinds.code, kinds.stderr).toBe(0);
    expect(kinds.stdout).toMatch(/objective space/);
  }, 150_000); // trains the whole zoo several times, with 5-fold cross-validation the first time
});

describe('CLI progress', () => {
  it('off a terminal, counted phases are a few whole lines (each phase\'s start and end), never carriage-return joined', () => {
    const written: string[] = [];
    const write = process.stderr.write;
    const tty = process.stderr.isTTY;
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
    try {
      const report = phaseProgress('calibration networks');
      for (let d = 1; d <= 126; d++) report('measuring', d, 126);
      for (let d = 1; d <= 42; d++) report('profiling per node', d, 42);
    } finally {
      process.stderr.write = write;
      Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
    }
    expect(written).toEqual(['measuring calibration networks: 1/126\n', 'measuring calibration networks: 126/126\n', 'profiling per node calibration networks: 1/42\n', 'profiling per node calibration networks: 42/42\n']);
  });
});
