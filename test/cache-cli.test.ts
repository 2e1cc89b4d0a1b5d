import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

describe('CLI: latencylab cache', () => {
  const dir = tempDir();
  const db = path.join(dir, 'x.db');

  it('inspect lists the cut points of our backbone with FLOPs', () => {
    const r = cli(['cache', 'inspect', '--model', 'fmnist'], db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fmnist: input image \[1×1×28×28\], [\d.]+ MFLOPs, output logits/);
    expect((r.stdout.match(/#\d/g) ?? []).length).toBeGreaterThanOrEqual(5);
  });

  it('replay with a data folder that lacks the files names the folder', () => {
    const r = cli(['cache', 'replay', '--model', 'fmnist', '--data', path.join(import.meta.dirname, '..', 'data', 'fashion-mnist-missing'), '--requests', '10'], db);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/fashion-mnist-missing: no t10k-images-idx3-ubyte/);
  });

  it('replay --fused answers with the cascade fused into one session once caches are enabled', () => {
    // a looser agreement target and fewer calibration records than the defaults: caches enable within the run
    const json = path.join(dir, 'fused.json');
    const r = cli(['cache', 'replay', '--model', 'fmnist', '--requests', '1500', '--min-calibration', '200', '--target-agreement', '0.95', '--fused', '--json', json], db);
    expect(r.code, r.stderr).toBe(0);
    const s = (JSON.parse(readFileSync(json, 'utf8')) as { stats: { fusedAnswers: number; caches: Array<{ enabled: boolean }> } }).stats;
    expect(s.caches.some((c) => c.enabled)).toBe(true);
    expect(s.fusedAnswers).toBeGreaterThan(0);
  }, 120_000);

  const bad: Array<[string, string[], RegExp, (() => void)?]> = [
    ['missing model', ['cache', 'inspect', '--model', path.join(dir, 'nope.onnx')], /nope\.onnx: no such model file \(or preset: fmnist, ppocr-cls\)/],
    ['not an ONNX file', ['cache', 'inspect', '--model', path.join(dir, 'junk.onnx')], /junk\.onnx: (not an ONNX model|ONNX model has no graph)/, () => writeFileSync(path.join(dir, 'junk.onnx'), 'this is not protobuf at all')],
    ['wrong --input-shape rank', ['cache', 'inspect', '--model', 'ppocr-cls', '--input-shape', '1,3,48'], /rank 4, --input-shape gives 3 dims/],
    ['unknown cut tensor', ['cache', 'inspect', '--model', 'fmnist', '--cuts', 'nope'], /"nope" is not a cut point of this graph .* valid: /],
    ['bad target agreement', ['cache', 'serve', '--model', 'fmnist', '--target-agreement', '1.5'], /option '--target-agreement <x>' argument '1\.5' is invalid\. expected a number strictly between 0 and 1/],
    ['bad audit rate', ['cache', 'replay', '--model', 'fmnist', '--audit-rate', '2'], /option '--audit-rate <x>' argument '2' is invalid/],
    ['bad record share', ['cache', 'replay', '--model', 'fmnist', '--record-share', '1.5'], /option '--record-share <x>' argument '1\.5' is invalid\. expected a number from 0 to 1/],
    ['bad min calibration', ['cache', 'serve', '--model', 'fmnist', '--min-calibration', 'some'], /option '--min-calibration <n\|auto>' argument 'some' is invalid\. expected an integer >= 1/],
    ['zero cuts', ['cache', 'inspect', '--model', 'fmnist', '--max-cuts', '0'], /option '--max-cuts <n>' argument '0' is invalid\. expected an integer >= 1/],
    ['unknown option', ['cache', 'inspect', '--model', 'fmnist', '--bogus'], /unknown option '--bogus'/],
    ['bad port', ['cache', 'serve', '--model', 'fmnist', '--port', '70000'], /--port: expected a port 0\.\.65535/],
    ['bad maintenance slice', ['cache', 'serve', '--model', 'fmnist', '--maintenance-slice-ms', '0'], /option '--maintenance-slice-ms <ms>' argument '0' is invalid\. expected a number > 0/],
  ];
  for (const [what, args, msg, setup] of bad) {
    it(`clear error: ${what}`, () => {
      setup?.();
      const r = cli(args, db);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
