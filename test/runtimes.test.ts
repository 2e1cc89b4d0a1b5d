import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODULES } from '../src/modules/index.js';
import { getRuntime } from '../src/runtimes/index.js';
import type { DeviceSettings } from '../src/profile/space.js';
import { Rng } from '../src/util/random.js';
import { defaultSpace } from '../src/profile/space.js';
import { planConfigs } from '../src/profile/sampler.js';

const settings: DeviceSettings = { threads: 1, optLevel: 'all', loadWorkers: 0, loadDuty: 0 };

/** small configs so the whole matrix runs in seconds */
function smallConfig(name: string) {
  const m = MODULES.find((x) => x.name === name)!;
  const space = defaultSpace(m);
  for (const p of m.params) {
    const d = space.params[p.name]!;
    if (!Array.isArray(d)) space.params[p.name] = [d.min];
  }
  if ('hw' in space.params) space.params.hw = [9];
  if ('batch' in space.params) space.params.batch = [2];
  return { m, cfg: planConfigs(m, space, 'random', 1, new Rng(3).int(1, 1000)).configs[0]! };
}

describe('every module runs on ORT-node, ORT-web and tfjs with the same numbers', () => {
  const ortCpu = getRuntime('ort-cpu');
  const ortWasm = getRuntime('ort-wasm');
  const tfjs = getRuntime('tfjs-wasm');
  for (const mod of MODULES) {
    it(mod.name, async () => {
      const { m, cfg } = smallConfig(mod.name);
      const g = m.build(cfg.params, 5);
      const ref = await (await ortCpu.prepare(g, settings)).outputs();
      expect(ref[0]!.length).toBe(g.outputs[0]!.shape.reduce((a, b) => a * b, 1));
      expect(ref[0]!.every(Number.isFinite)).toBe(true);
      for (const rt of [ortWasm, tfjs]) {
        const p = await rt.prepare(g, settings);
        const out = await p.outputs();
        await p.dispose();
        const scale = Math.max(1e-3, ...ref[0]!.map(Math.abs));
        let worst = 0;
        for (let i = 0; i < out[0]!.length; i++) worst = Math.max(worst, Math.abs(out[0]![i]! - ref[0]![i]!) / scale);
        expect(worst, `${rt.device} vs ort-cpu on ${m.name} ${JSON.stringify(cfg.params)}`).toBeLessThan(2e-3);
      }
    }, 60_000);
  }
});

describe('LSTM: forward and bidirectional agree across the runtimes (tfjs runs it step by step)', () => {
  for (const directions of [1, 2]) {
    it(`${directions} direction(s)`, async () => {
      const g = MODULES.find((x) => x.name === 'lstm')!.build({ batch: 2, seq: 6, input: 16, hidden: 24, directions }, 9);
      expect(g.outputs[0]!.shape).toEqual([6, directions, 2, 24]);
      const ref = (await (await getRuntime('ort-cpu').prepare(g, settings)).outputs())[0]!;
      expect(ref.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      for (const device of ['ort-wasm', 'tfjs-wasm']) {
        const p = await getRuntime(device).prepare(g, settings);
        const out = (await p.outputs())[0]!;
        await p.dispose();
        let worst = 0;
        for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
        expect(worst, device).toBeLessThan(1e-4);
      }
    });
  }
});

describe('ConvTranspose: every upsampling form the IR emits agrees across the runtimes', () => {
  // pads ⌈(k − s)/2⌉ and output_padding: 2×2/2 (none), 3×3/2 (pad 1, output_padding 1), 4×4/2 (pad 1), 3×3/1 (pad 1)
  for (const [k, stride] of [[2, 2], [3, 2], [4, 2], [3, 1]] as const) {
    it(`${k}×${k} stride ${stride}`, async () => {
      const g = MODULES.find((x) => x.name === 'convtranspose')!.build({ batch: 1, hw: 5, cin: 8, cout: 16, k, stride, groups: 1 }, 7);
      expect(g.outputs[0]!.shape).toEqual([1, 16, 5 * stride, 5 * stride]);
      const ref = (await (await getRuntime('ort-cpu').prepare(g, settings)).outputs())[0]!;
      expect(ref.length).toBe(16 * 25 * stride * stride);
      for (const device of ['ort-wasm', 'tfjs-wasm']) {
        const p = await getRuntime(device).prepare(g, settings);
        const out = (await p.outputs())[0]!;
        await p.dispose();
        const scale = Math.max(1e-3, ...ref.map(Math.abs));
        expect(Math.max(...out.map((v, i) => Math.abs(v - ref[i]!))) / scale, device).toBeLessThan(2e-3);
      }
    }, 60_000);
  }
  it('refuses a form that cannot upsample by exactly the stride, naming the field', () => {
    expect(() => MODULES.find((x) => x.name === 'convtranspose')!.build({ batch: 1, hw: 5, cin: 8, cout: 8, k: 2, stride: 1, groups: 1 })).toThrow(/kernel: .*odd kernel with stride 1/);
  });
});

describe('onnxruntime telemetry', () => {
  it('is switched off before onnxruntime-node loads: no upload attempt, no /tmp/mat-debug-<pid>.log', async () => {
    const { m, cfg } = smallConfig('conv2d');
    const p = await getRuntime('ort-cpu').prepare(m.build(cfg.params, 5), settings);
    await p.outputs();
    await p.dispose();
    expect(process.env.ORT_DISABLE_TELEMETRY).toBe('1');
    // onnxruntime-node 1.30's 1DS client writes this file in every process it initialises in
    if (process.platform === 'linux') expect(existsSync(`/tmp/mat-debug-${process.pid}.log`)).toBe(false);
  });
});

describe('tfjs interpreter covers the conv variants the IR can express', () => {
  const cases = [
    { batch: 1, hw: 11, cin: 16, cout: 8, k: 3, stride: 2, groups: 4, pad: 'valid' },
    { batch: 2, hw: 9, cin: 8, cout: 8, k: 5, stride: 1, groups: 8, pad: 'same' },
    { batch: 1, hw: 7, cin: 8, cout: 16, k: 1, stride: 1, groups: 1, pad: 'same' },
  ];
  for (const params of cases) {
    it(JSON.stringify(params), async () => {
      const g = MODULES.find((m) => m.name === 'conv2d')!.build(params, 2);
      const ref = (await (await getRuntime('ort-cpu').prepare(g, settings)).outputs())[0]!;
      const out = (await (await getRuntime('tfjs-wasm').prepare(g, settings)).outputs())[0]!;
      expect(out.length).toBe(ref.length);
      const worst = Math.max(...Array.from(out, (v, i) => Math.abs(v - ref[i]!)));
      expect(worst).toBeLessThan(1e-3 * Math.max(...Array.from(ref, Math.abs)));
    });
  }
});
