import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { featureSpace, REGRESSORS } from '../src/regressors/index.js';
import { PackedTrees, treePredict, type Tree } from '../src/regressors/gbt.js';
import { graphKernelWork, mlasConvWork } from '../src/regressors/kernels.js';
import { KnnIndex } from '../src/regressors/knn.js';
import { quadratic, quadraticPredict } from '../src/regressors/linear.js';
import { ensemble } from '../src/regressors/ensemble.js';
import { gbt } from '../src/regressors/gbt.js';
import { medn, mlp } from '../src/regressors/mlp.js';
import { fitNonNegativeRelative, fitRidge, fitRidgeCV, linearPredict, nonNegativeRelativeFitter, solveRidge } from '../src/regressors/ridge.js';
import { convRunsNchwc, hardwareFacts } from '../src/runtimes/hardware.js';
import { Rng } from '../src/util/random.js';
import { mape } from '../src/util/stats.js';

const row = (p: Record<string, unknown>, extra: Partial<Record<string, number>> = {}) => ({
  params_json: JSON.stringify(p), threads: 1, load_workers: 0, load_duty: 0,
  macs: 1e6, flops: 2e6, params: 100, input_bytes: 4096, output_bytes: 4096, weight_bytes: 400, activation_bytes: 4096, intensity: 1, nodes: 1, ...extra,
});

describe('regression models', () => {
  it('each RM learns a noiseless power law and round-trips through JSON', async () => {
    const rng = new Rng(2);
    // 5 columns: addgbt reads columns 1, 3 and 4 as log1p of work totals (feature vectors start with the cost fields)
    const X = Array.from({ length: 300 }, () => [rng.next() * 5, rng.next() * 3, rng.next(), rng.next(), rng.next()]);
    const y = X.map(([a, b]) => 0.01 * Math.exp(0.9 * a! + 0.5 * b!));
    for (const k of REGRESSORS) {
      const m = k.create(1);
      await m.fit(X.slice(0, 250), y.slice(0, 250));
      const err = mape(m.predict(X.slice(250)), y.slice(250));
      expect(err, k.kind).toBeLessThan(k.kind === 'loglinear' || k.kind === 'poly2' ? 0.5 : 15);
      const restored = k.load(JSON.parse(JSON.stringify(m.toJSON())));
      expect(restored.predict(X.slice(250))).toEqual(m.predict(X.slice(250)));
    }
  });

  it('addgbt recovers a time that is a sum of costs per byte and per FLOP, where log-space models bend', async () => {
    const rng = new Rng(5);
    const fs = featureSpace(getModule('add'));
    // rows whose bytes and FLOPs vary independently over 3 decades; time = fixed + per byte + per FLOP
    const rows = Array.from({ length: 400 }, () => {
      const [inB, outB, flops] = [0, 0, 0].map(() => 10 ** (3 + 3 * rng.next()));
      return row({ batch: 1, c: 8, hw: 8 }, { input_bytes: inB!, output_bytes: outB!, flops: flops! });
    });
    const X = rows.map((r) => fs.encode(r));
    const y = rows.map((r) => 0.02 + 2e-6 * r.input_bytes + 1e-6 * r.output_bytes + 5e-7 * r.flops);
    const errOf = async (kind: string) => {
      const m = REGRESSORS.find((k) => k.kind === kind)!.create(1);
      await m.fit(X.slice(0, 300), y.slice(0, 300));
      return { m, err: mape(m.predict(X.slice(300)), y.slice(300)) };
    };
    const add = await errOf('addgbt');
    expect(add.err).toBeLessThan(1);
    expect((await errOf('gbt')).err).toBeGreaterThan(2 * add.err);
    const state = add.m.toJSON() as { costs: number[] };
    // costs: [fixed, per byte in, per byte out, per FLOP], as the sum was made
    [0.02, 2e-6, 1e-6, 5e-7].forEach((c, j) => expect(state.costs[j]! / c).toBeCloseTo(1, 2));
    const damaged = { ...state, costs: [0.02, -1, 0, 0] };
    expect(() => REGRESSORS.find((k) => k.kind === 'addgbt')!.load(damaged)).toThrow(/addgbt state is damaged/);
  });

  it('trees learn a step the power law cannot (channels padded to a vector block)', async () => {
    const rng = new Rng(3);
    const c = Array.from({ length: 400 }, () => 8 + 8 * Math.floor(rng.next() * 30));
    const X = c.map((v) => [Math.log(v), (v % 16) / 16]);
    const y = c.map((v) => 0.001 * Math.ceil(v / 16) * 16);
    for (const kind of ['gbt', 'forest']) {
      const k = REGRESSORS.find((r) => r.kind === kind)!;
      const m = k.create(1);
      await m.fit(X.slice(0, 300), y.slice(0, 300));
      expect(mape(m.predict(X.slice(300)), y.slice(300)), kind).toBeLessThan(2);
    }
    const lin = REGRESSORS.find((r) => r.kind === 'loglinear')!.create(1);
    await lin.fit(X.slice(0, 300), y.slice(0, 300));
    expect(mape(lin.predict(X.slice(300)), y.slice(300))).toBeGreaterThan(2);
  });

  it('MEDN learns a task with few rows from a related task with many (masked multi-task loss)', async () => {
    const rng = new Rng(4);
    const X = Array.from({ length: 400 }, () => [rng.next() * 4, rng.next() * 2]);
    const f = (x: number[]) => Math.exp(0.8 * x[0]! + Math.sin(2 * x[1]!));
    // main task measured on 40 rows only; the auxiliary task (another "device", 3x slower) on all
    const yMain = X.map((x, i) => (i < 40 ? f(x) : NaN));
    const aux = X.map((x) => 3 * f(x));
    const m = medn.create(1);
    await m.fit(X, yMain, { tasks: [{ name: 'other', y: aux }] });
    const test = Array.from({ length: 100 }, () => [rng.next() * 4, rng.next() * 2]);
    expect(mape(m.predict(test), test.map(f))).toBeLessThan(25);
  }, 120_000);

  it('ridge picks λ by cross-validation and predicts in closed form', () => {
    const rng = new Rng(5);
    const X = Array.from({ length: 200 }, () => [rng.next(), rng.next(), rng.next()]);
    const y = X.map((x) => 1 + 2 * x[0]! - x[1]!);
    const s = fitRidgeCV(X, y);
    expect(linearPredict(s, [0.5, 0.5, 0.5])).toBeCloseTo(1.5, 2);
    expect(s.lambda).toBeLessThan(0.1);
  });

  it('poly2 predicts without building the expanded vector, to the last bit', () => {
    const rng = new Rng(11);
    const X = Array.from({ length: 80 }, () => Array.from({ length: 6 }, () => rng.next() * 3));
    const cols = [0, 2, 3, 5];
    const s = fitRidgeCV(X.map((r) => quadratic(r, cols)), X.map((r) => r[0]! * r[2]! - r[5]! ** 2 + rng.next()));
    for (const r of X.slice(0, 20)) expect(Object.is(quadraticPredict(s, r, cols), linearPredict(s, quadratic(r, cols)))).toBe(true);
  });

  it('kNN search finds the neighbours a scan over every point finds, ties to the lower index, to the last bit', () => {
    const rng = new Rng(5);
    // few distinct values per feature: many exact ties, duplicated points
    const pts = Array.from({ length: 300 }, () => Array.from({ length: 7 }, () => Math.floor(rng.next() * 4) / 2));
    const weights = [0.2, 1, 0.05, 0.6, 0.001, 0.3, 1];
    const scan = (z: number[], k: number) => {
      const all = pts.map((p, i): [number, number] => [p.reduce((s, v, j) => s + weights[j]! * (z[j]! - v) ** 2, 0), i]);
      return all.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k);
    };
    const index = new KnnIndex(pts, weights);
    for (let q = 0; q < 200; q++) {
      const z = q % 2 ? pts[q]!.map((v) => v + (q % 3) * 0.25) : Array.from({ length: 7 }, () => rng.next() * 2.5 - 0.25);
      for (const k of [1, 5]) {
        const got = index.nearest(z, k);
        const want = scan(z, k);
        expect(got.map((x) => x[1])).toEqual(want.map((x) => x[1]));
        got.forEach((x, i) => expect(Object.is(x[0], want[i]![0])).toBe(true));
      }
    }
  });
});

describe('few-shot ridge', () => {
  it("leave-one-out predictions equal refitting without each row (the rows' mean, the standardisation of all)", () => {
    const rng = new Rng(5);
    const X = Array.from({ length: 10 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const y = X.map((r) => 2 * r[0]! - r[2]! + 0.3 * rng.normal() + 7);
    const m = fitRidge(X, y, [0.5, 5]);
    // by hand: standardise with all rows, fit each fold from scratch by solveRidge
    const mean = [0, 1, 2, 3].map((j) => X.reduce((s, r) => s + r[j]!, 0) / X.length);
    const sd = [0, 1, 2, 3].map((j) => Math.sqrt(X.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / X.length));
    const Z = X.map((r) => r.map((v, j) => (v - mean[j]!) / sd[j]!));
    const refit = (rows: number[], z: number[]) => {
      const ym = rows.reduce((s, i) => s + y[i]!, 0) / rows.length;
      const w = solveRidge(rows.map((i) => Z[i]!), rows.map((i) => y[i]! - ym), m.lambda);
      return ym + z.reduce((s, v, j) => s + v * w[j]!, 0);
    };
    const all = [...X.keys()];
    m.loo.forEach((p, i) => expect(p).toBeCloseTo(refit(all.filter((k) => k !== i), Z[i]!), 9));
    expect(m.predict(X[3]!)).toBeCloseTo(refit(all, Z[3]!), 9);
    // and solveRidge is the ridge solution: the gradient (ZᵀZ + λI)w − Zᵀy vanishes
    const w = solveRidge(Z, y, 0.7);
    for (let j = 0; j < 4; j++) {
      const g = Z.reduce((s, r, i) => s + r[j]! * (r.reduce((a, v, k) => a + v * w[k]!, 0) - y[i]!), 0) + 0.7 * w[j]!;
      expect(Math.abs(g)).toBeLessThan(1e-9);
    }
  });
});

describe('non-negative relative fits over a λ grid and left-out rows', () => {
  it('each answer is fitNonNegativeRelative on the rows kept (costs dropped to 0 included)', () => {
    const rng = new Rng(8);
    let dropped = 0;
    for (let t = 0; t < 200; t++) {
      const n = 6 + Math.floor(rng.next() * 8);
      const d = 2 + Math.floor(rng.next() * 4);
      const X = Array.from({ length: n }, () => [1, ...Array.from({ length: d - 1 }, () => Math.floor(rng.next() * 7))]);
      const truth = Array.from({ length: d }, () => rng.next() - 0.25);
      const y = X.map((r) => Math.max(0.05, r.reduce((s, v, j) => s + v * truth[j]!, 0)) * (0.8 + 0.4 * rng.next()));
      const signed = new Set([0]);
      const fit = nonNegativeRelativeFitter(X, y, signed);
      const lambda = [1e-4, 1e-2, 1][t % 3]!;
      const close = (a: number[], b: number[]) => a.forEach((v, j) => expect(Math.abs(v - b[j]!)).toBeLessThanOrEqual(1e-8 * (1 + Math.abs(v))));
      const full = fit(lambda);
      close(fitNonNegativeRelative(X, y, lambda, signed), full);
      if (full.some((v) => v === 0)) dropped++;
      const i = t % n;
      close(fitNonNegativeRelative(X.filter((_, k) => k !== i), y.filter((_, k) => k !== i), lambda, signed), fit(lambda, i));
      expect(full.slice(1).every((v) => v >= 0)).toBe(true);
    }
    // the active set was exercised
    expect(dropped).toBeGreaterThan(10);
  });
});

describe('features', () => {
  it('log-scaled costs, device settings, one-hot categories', () => {
    const fs = featureSpace(getModule('activation'));
    expect(fs.names).toContain('act=gelu');
    const v = fs.encode(row({ batch: 1, hw: 8, c: 8, act: 'gelu' }, { threads: 2, load_workers: 1, load_duty: 0.5 }));
    expect(v).toHaveLength(fs.names.length);
    expect(v[fs.names.indexOf('threads')]).toBe(2);
    expect(v[fs.names.indexOf('load')]).toBe(0.5);
    expect(v[fs.names.indexOf('act=gelu')]).toBe(1);
    expect(v[fs.names.indexOf('act=relu')]).toBe(0);
    expect(fs.groups.includes('kernel')).toBe(false);
  });

  it('kernel features see vector-block padding and the working set against the caches', () => {
    const hw = { simdFloats: 16, nchwcBlock: 16, l1dBytes: 49152, l2Bytes: 1 << 20, l3Bytes: 32 << 20, source: 'test' };
    const fs = featureSpace(getModule('pwconv'), { hardware: hw });
    const enc = (cin: number) => fs.encode(row({ batch: 1, hw: 14, cin, cout: 64 }));
    const at = (v: number[], name: string) => v[fs.names.indexOf(name)]!;
    expect(at(enc(16), 'cin_blocks16')).toBe(at(enc(9), 'cin_blocks16'));
    expect(at(enc(17), 'cin_blocks16')).toBeGreaterThan(at(enc(16), 'cin_blocks16'));
    expect(at(enc(24), 'cin_rem16')).toBe(0.5);
    expect(fs.names).toContain('ws_over_L2');
    expect(fs.groups.filter((g) => g === 'kernel').length).toBeGreaterThan(10);
  });

  it('encoding with the module already built gives the same features as from the stored row alone', () => {
    const fs = featureSpace(getModule('conv2d'), { hardware: hardwareFacts('ort-cpu') });
    const params = { batch: 1, hw: 14, cin: 24, cout: 40, k: 3, stride: 2, groups: 1, pad: 'same' };
    const graph = getModule('conv2d').build(params, 1, false);
    const r = row(params, { macs: graph.cost.macs });
    expect(fs.encode(r, { params, graph })).toEqual(fs.encode(r));
  });

  it('the ensemble answers the geometric mean of its members; composed from members already fitted', async () => {
    const rng = new Rng(7);
    const X = Array.from({ length: 200 }, () => [rng.next() * 5, rng.next() * 3]);
    const y = X.map(([a, b]) => 0.02 * Math.exp(0.7 * a! + Math.sin(2 * b!)));
    const g = gbt.create(1);
    const n = mlp.create(1);
    await g.fit(X.slice(0, 150), y.slice(0, 150));
    await n.fit(X.slice(0, 150), y.slice(0, 150));
    const e = ensemble.compose!(new Map([['gbt', g], ['mlp', n]]))!;
    const test = X.slice(150);
    const [pg, pn, pe] = [g.predict(test), n.predict(test), e.predict(test)];
    pe.forEach((p, i) => expect(p).toBeCloseTo(Math.sqrt(pg[i]! * pn[i]!), 10));
    // a member missing: nothing to compose from
    expect(ensemble.compose!(new Map([['gbt', g]]))).toBeUndefined();
    // stored and loaded it answers the same; a state with the wrong members is refused
    const state = JSON.parse(JSON.stringify(e.toJSON())) as { members: Array<{ kind: string }> };
    expect(ensemble.load(state).predict(test)).toEqual(pe);
    state.members[1]!.kind = 'knn';
    expect(() => ensemble.load(state)).toThrow(/member 2 is 'knn', expected 'mlp'/);
    expect(() => ensemble.load({ members: [] })).toThrow(/damaged/);
  }, 60_000);

  it('a damaged stored tree model is refused on load, not walked in a circle', async () => {
    const rng = new Rng(6);
    const X = Array.from({ length: 120 }, () => [rng.next() * 5, rng.next() * 3]);
    const y = X.map(([a, b]) => Math.exp(0.5 * a! + Math.sin(2 * b!)));
    for (const kind of ['gbt', 'forest']) {
      const k = REGRESSORS.find((r) => r.kind === kind)!;
      const m = k.create(1);
      await m.fit(X, y);
      const state = JSON.parse(JSON.stringify(m.toJSON())) as { trees: Tree[] };
      expect(() => k.load(JSON.parse(JSON.stringify(state)))).not.toThrow();
      const t = state.trees.find((x) => x.feature[0]! >= 0)!;
      t.left[0] = 0; // the root's left child is the root itself
      expect(() => k.load(state), kind).toThrow(/damaged/);
    }
  });

  it('packed trees answer exactly as the trees they pack, summed in order', async () => {
    const rng = new Rng(5);
    const X = Array.from({ length: 300 }, () => [rng.next() * 5, rng.next() * 3, rng.next()]);
    const y = X.map(([a, b, c]) => 0.01 * Math.exp(0.9 * a! + Math.sin(3 * b!) + (c! > 0.5 ? 0.3 : 0)));
    const m = REGRESSORS.find((r) => r.kind === 'gbt')!.create(1);
    await m.fit(X, y);
    const state = m.toJSON() as { base: Parameters<typeof linearPredict>[0]; trees: Tree[] };
    expect(state.trees.length).toBeGreaterThan(5);
    const packed = new PackedTrees(state.trees);
    for (const x of X.slice(0, 50)) {
      let v = linearPredict(state.base, x);
      for (const t of state.trees) v += treePredict(t, x);
      expect(packed.sum(x, linearPredict(state.base, x))).toBe(v);
      expect(m.predict([x])[0]).toBe(Math.exp(v));
    }
  });

  it('kernel work follows the NCHWc rules: block-aligned convs run NCHWc, others im2col', () => {
    const hw = hardwareFacts('ort-cpu');
    const block = hw.nchwcBlock;
    const conv = getModule('conv2d');
    const g = (cin: number, groups: number) => graphKernelWork(conv.build({ batch: 1, hw: 14, cin, cout: 32, k: 3, stride: 1, groups, pad: 'same' }, 1, false), hw);
    if (block > 0) {
      expect(g(block * 2, 1).nchwc_convs).toBe(1);
      // at least one block wide and not a multiple of it, whatever the host's vector width (AVX-512: 24, AVX2: 12)
      const unaligned = block + block / 2;
      expect(g(unaligned, 1).other_convs).toBe(1);
      expect(g(unaligned, 1).im2col_macs).toBeGreaterThan(0);
    }
    const wasm = graphKernelWork(conv.build({ batch: 1, hw: 14, cin: 32, cout: 32, k: 3, stride: 1, groups: 1, pad: 'same' }, 1, false), hardwareFacts('ort-wasm'));
    expect(wasm.nchwc_convs).toBe(0);
  });

  it("the NCHWc rule is onnxruntime's TransformConv: per-group channels for grouped convs, any output width without groups", () => {
    // [cin, cout, groups, runs NCHWc with block 8]
    const cases: [number, number, number, boolean][] = [
      [3, 20, 1, true], // fewer inputs than a block: read from NCHW; outputs padded to the block
      [16, 20, 1, true],
      [12, 16, 1, false], // inputs past a block, not whole blocks
      [32, 32, 32, true], // depthwise
      [20, 20, 20, false], // depthwise, not whole blocks
      [32, 64, 4, true], // 8 in / 16 out per group
      [32, 64, 8, false], // 4 in per group
      [64, 32, 8, false], // 4 out per group
      [64, 36, 2, false], // outputs not whole blocks
    ];
    for (const [cin, cout, groups, expected] of cases) expect([cin, cout, groups, convRunsNchwc(cin, cout, groups, 8)]).toEqual([cin, cout, groups, expected]);
    expect(convRunsNchwc(16, 16, 1, 0)).toBe(false);
  });

  it("MLAS's convolution loop nest: calls, FMAs and padded outputs counted as the kernels run them", () => {
    const avx2 = { ...hardwareFacts('ort-cpu'), nchwcBlock: 8, simdFloats: 8 };
    const conv = getModule('conv2d');
    const work = (p: Record<string, unknown>, hw = avx2) => mlasConvWork(conv.build({ batch: 1, hw: 8, cin: 16, cout: 32, k: 3, stride: 1, groups: 1, pad: 'same', ...p }, 1, false), hw);
    // 16 → 32 channels, 3×3 same on 8×8, block 8: one filter set of 4 blocks, 2 input blocks, 8 rows
    const kxk = work({});
    expect(kxk.calls).toBe(8 * 2);
    expect(kxk.vec_fma).toBe((8 * 8 * 32 * 16 * 9) / 8); // MACs over the vector width
    expect(kxk.bcast).toBe(16 * 8 * 8 * 9);
    expect(kxk.out_traffic).toBe(8 * 4 * 8 * 8 * 2); // every input block re-reads the output row
    expect(kxk.pad_outputs).toBe(16 * 2 * 8 * 9); // the first and last output of each row touch the padding
    expect(kxk.gemm_macs + kxk.pw_calls + kxk.dw_calls).toBe(0);
    // 1×1: the pointwise kernel, all rows in one call
    const pw = work({ k: 1 });
    expect([pw.pw_calls, pw.pw_vec_fma, pw.calls]).toEqual([1, (8 * 8 * 32 * 16) / 8, 0]);
    // 40 output channels: a second filter set of one block
    expect(work({ cout: 40 }).calls).toBe(8 * 2 * 2);
    // 12 output channels per group: off the NCHWc path, im2col + SGEMM per group
    const grouped = work({ cin: 24, cout: 24, groups: 2 });
    expect(grouped.gemm_calls).toBe(2);
    expect(grouped.im2col_bytes).toBe(4 * 2 * 8 * 8 * 12 * 9);
    expect(grouped.calls).toBe(0);
    // 32 → 64 channels in 4 groups: 16 out per group, but 8 in per group is one block — NCHWc; in 8
    // groups 4 in per group (32 in total is whole blocks; onnxruntime looks at the filter's per-group
    // channels): im2col + SGEMM
    expect(work({ cin: 32, cout: 64, groups: 4 }).calls).toBeGreaterThan(0);
    const perGroup = work({ cin: 32, cout: 64, groups: 8 });
    expect([perGroup.calls, perGroup.gemm_calls]).toEqual([0, 8]);
    // no NCHWc (wasm): everything is SGEMM
    expect(work({}, hardwareFacts('ort-wasm')).gemm_calls).toBe(1);
  });

  it('convolution modules get the loop-nest work as additive columns; other modules keep bytes and FLOPs', async () => {
    const hw = hardwareFacts('ort-cpu');
    const conv = featureSpace(getModule('conv2d'), { hardware: hw });
    const calls = conv.names.indexOf('log_mlas_calls');
    expect(calls).toBeGreaterThan(0);
    expect(conv.additiveColumns).toContain(calls);
    expect(conv.additiveColumns).toContain(conv.names.indexOf('log_nchwc_reorder_bytes'));
    const add = featureSpace(getModule('add'), { hardware: hw });
    expect(add.names.some((n) => n.startsWith('log_mlas_'))).toBe(false);
    expect(add.additiveColumns).toHaveLength(3);
    // without kernel features only the cost columns are work columns
    expect(featureSpace(getModule('conv2d'), { hardware: hw, kernel: false }).additiveColumns).toHaveLength(3);
    // addgbt keeps the columns it was fitted on; a stored state pointing past its features is refused
    const rng = new Rng(3);
    const rows = Array.from({ length: 120 }, () => row({ batch: 1, hw: 8 + Math.floor(rng.next() * 20), cin: 8 * (1 + Math.floor(rng.next() * 4)), cout: 16, k: 3, stride: 1, groups: 1, pad: 'same' }));
    const X = rows.map((r) => conv.encode(r));
    const y = X.map((x) => 0.01 + 1e-4 * Math.expm1(x[calls]!));
    const m = REGRESSORS.find((k) => k.kind === 'addgbt')!.create(1);
    await m.fit(X, y, { additiveColumns: conv.additiveColumns });
    const state = m.toJSON() as { columns: number[]; costs: number[] };
    expect(state.columns).toEqual(conv.additiveColumns);
    expect(mape(m.predict(X), y)).toBeLessThan(2);
    const load = REGRESSORS.find((k) => k.kind === 'addgbt')!.load;
    expect(load(JSON.parse(JSON.stringify(state))).predict(X)).toEqual(m.predict(X));
    expect(() => load({ ...state, columns: [...state.columns.slice(1), X[0]!.length + 5] })).toThrow(/addgbt state is damaged/);
  });
});
