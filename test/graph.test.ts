import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/ir/graph.js';
import { toOnnx } from '../src/ir/onnx.js';
import { getModule, MODULES } from '../src/modules/index.js';
import { UserError } from '../src/util/errors.js';

describe('graph IR shapes and analytic costs', () => {
  it('counts conv MACs, params and bytes by the textbook formulas', () => {
    const g = getModule('conv2d').build({ batch: 2, hw: 28, cin: 16, cout: 32, k: 3, stride: 2, groups: 4, pad: 'same' });
    // out 14×14; MACs = N·Cout·OH·OW·(Cin/g)·k²
    expect(g.outputs[0]!.shape).toEqual([2, 32, 14, 14]);
    expect(g.cost.macs).toBe(2 * 32 * 14 * 14 * 4 * 9);
    expect(g.cost.params).toBe(32 * 4 * 9 + 32);
    expect(g.cost.inputBytes).toBe(2 * 16 * 28 * 28 * 4);
    expect(g.cost.outputBytes).toBe(2 * 32 * 14 * 14 * 4);
    expect(g.cost.weightBytes).toBe(g.cost.params * 4);
    expect(g.cost.intensity).toBeCloseTo(g.cost.flops / (g.cost.inputBytes + g.cost.outputBytes + g.cost.weightBytes));
  });

  it('counts attention MACs: 4 projections + two batched matmuls', () => {
    const g = getModule('mhsa').build({ batch: 1, seq: 16, hidden: 64, heads: 4 });
    expect(g.cost.macs).toBe(4 * 16 * 64 * 64 + 2 * 4 * 16 * 16 * 16);
    expect(g.outputs[0]!.shape).toEqual([1, 16, 64]);
  });

  it('rejects impossible shapes with an error naming the field', () => {
    const conv = getModule('conv2d');
    expect(() => conv.build({ batch: 1, hw: 3, cin: 8, cout: 8, k: 7, stride: 1, groups: 1, pad: 'valid' })).toThrow(/kernel: .*larger than the padded input 3/);
    expect(() => conv.build({ batch: 1, hw: 8, cin: 12, cout: 8, k: 3, stride: 1, groups: 8, pad: 'same' })).toThrow(UserError);
    expect(() => getModule('mhsa').build({ batch: 1, seq: 8, hidden: 64, heads: 3 })).toThrow(/heads: hidden 64 is not divisible by heads 3/);
    expect(() => new GraphBuilder('x').input('x', [1, 0, 4, 4])).toThrow(/positive integers/);
  });

  it('a shapes-only build has the same costs as a full build and no weights', () => {
    for (const m of MODULES) {
      const p = Object.fromEntries(m.params.map((s) => [s.name, Array.isArray(s.default) ? s.default[0]! : s.default.min]));
      if ('hw' in p) p.hw = 16;
      const full = m.build(p, 1, true);
      const light = m.build(p, 1, false);
      expect(light.cost, m.name).toEqual(full.cost);
      expect(light.initializers.every((i) => i.data.length <= 1 || i.data instanceof BigInt64Array)).toBe(true);
      expect(toOnnx(full).length).toBeGreaterThan(50);
    }
  });
});

describe('reference ImageNet models (modelgen/reference)', () => {
  it('ResNet-18 and MobileNetV2 have the published sizes', async () => {
    const { resnet18, mobilenetV2 } = await import('../src/modelgen/reference.js');
    const r = resnet18();
    const m = mobilenetV2();
    // torchvision: ResNet-18 1.814 GMACs, 11.69 M params; MobileNetV2 0.30 GMACs, 3.50 M params
    expect(r.cost.macs / 1e9).toBeCloseTo(1.814, 2);
    expect(r.cost.params / 1e6).toBeCloseTo(11.69, 1);
    expect(m.cost.macs / 1e9).toBeCloseTo(0.30, 1);
    expect(m.cost.params / 1e6).toBeGreaterThan(3.4);
    expect(m.cost.params / 1e6).toBeLessThan(3.6);
    expect(r.outputs[0]!.shape).toEqual([1, 1000]);
    expect(m.outputs[0]!.shape).toEqual([1, 1000]);
  });
});
