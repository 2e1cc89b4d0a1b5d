import { describe, expect, it } from 'vitest';
import { loadLatencyData } from '../src/data/latency.js';
import { inSampleCeiling } from '../src/transfer/ceiling.js';
import { Rng } from '../src/util/random.js';

describe('in-sample ranking ceiling', () => {
  const data = loadLatencyData('nb201');
  it('an op-additive device is ranked perfectly; a per-position one only by the one-hot model', () => {
    // costs exact in binary, so equal sums tie exactly
    const cost = [0, 0.25, 0.5, 2, 0.75];
    const additive = Float64Array.from(data.ops, (o) => 1 + Array.from(o).reduce((s, op) => s + cost[op]!, 0));
    const c = inSampleCeiling(data, additive);
    expect(c.opCounts).toBeGreaterThan(0.999);
    // cost depends on where the op sits: counts cannot say, one-hot per edge can
    const positional = Float64Array.from(data.ops, (o) => 1 + Array.from(o).reduce((s, op, p) => s + cost[op]! * (p + 1) ** 2, 0));
    const d = inSampleCeiling(data, positional);
    expect(d.oneHot).toBeGreaterThan(0.999);
    expect(d.opCounts).toBeLessThan(0.99);
  });
  it('pure noise cannot be ranked', () => {
    const rng = new Rng(1);
    const c = inSampleCeiling(data, Float64Array.from(data.ops, () => rng.next()));
    expect(Math.abs(c.oneHotQuadratic)).toBeLessThan(0.1);
  });
});
