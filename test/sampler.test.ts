import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { configKey, planConfigs } from '../src/profile/sampler.js';
import { Sobol } from '../src/profile/sobol.js';
import { defaultSpace, parseSpace } from '../src/profile/space.js';

const conv = getModule('conv2d');

describe('samplers', () => {
  it('Sobol: every 1-D projection of the first 2^k points is stratified', () => {
    const s = new Sobol(20);
    const pts = Array.from({ length: 64 }, () => s.next());
    // the skipped zero point leaves 63 points stratified + one in its own cell: check 63 distinct cells of 64
    for (let d = 0; d < 20; d++) {
      const cells = new Set(pts.slice(0, 63).map((p) => Math.floor(p[d]! * 64)));
      expect(cells.size, `dim ${d}`).toBe(63);
    }
  });

  it('LHS stratifies each range dimension', () => {
    const space = parseSpace({ params: { batch: [1], hw: { min: 1, max: 100 }, cin: [8], cout: [8], k: [1], stride: [1], groups: [1], pad: ['same'] } }, conv);
    const { configs } = planConfigs(conv, space, 'lhs', 100, 3);
    const hws = configs.map((c) => c.params.hw as number).sort((a, b) => a - b);
    expect(hws).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('grid enumerates every combination once', () => {
    const space = parseSpace({ params: { batch: [1, 2], hw: [8, 16], cin: [8], cout: [8, 16], k: [1, 3], stride: [1], groups: [1], pad: ['same'] } }, conv);
    const { configs } = planConfigs(conv, space, 'grid', 1000, 1);
    expect(configs.length).toBe(16);
    expect(new Set(configs.map(configKey)).size).toBe(16);
  });

  it('random configs are valid, distinct, within limits, and reproducible by seed', () => {
    const space = defaultSpace(conv);
    const a = planConfigs(conv, space, 'random', 200, 42);
    const b = planConfigs(conv, space, 'random', 200, 42);
    expect(a.configs).toEqual(b.configs);
    expect(new Set(a.configs.map(configKey)).size).toBe(200);
    for (const c of a.configs) {
      const g = conv.build(c.params, 1, false);
      expect(g.cost.macs).toBeLessThanOrEqual(space.limits.maxMacs);
      expect((c.params.cin as number) % (c.params.groups as number)).toBe(0);
    }
    expect(a.rejected).toBeGreaterThan(0); // groups and sizes do produce impossible candidates
  });

  it('log ranges favour small values, as sizes in real networks do', () => {
    const space = parseSpace({ params: { hw: { min: 1, max: 1000, log: true } }, limits: { maxMacs: 1e15 } }, conv);
    const { configs } = planConfigs(conv, space, 'random', 300, 5);
    const small = configs.filter((c) => (c.params.hw as number) <= 31).length;
    expect(small / configs.length).toBeGreaterThan(0.35); // ~50% expected; uniform would give 3%
  });

  it('a space where nothing is possible fails with the reason', () => {
    const space = parseSpace({ params: { hw: [3], k: [7], pad: ['valid'] } }, conv);
    expect(() => planConfigs(conv, space, 'random', 10, 1)).toThrow(/no valid configuration.*kernel 7 .*larger than the padded input 3/);
  });

  it('device parameters are sampled from the space', () => {
    const space = parseSpace({ device: { threads: [1, 2], load: [{ workers: 0 }, { workers: 1, duty: 0.5 }] } }, conv);
    const { configs } = planConfigs(conv, space, 'random', 80, 1);
    expect(new Set(configs.map((c) => c.device.threads))).toEqual(new Set([1, 2]));
    expect(new Set(configs.map((c) => c.device.loadDuty))).toEqual(new Set([0, 0.5]));
  });
});
