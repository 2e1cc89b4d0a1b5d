import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatArch, loadLatencyData } from '../src/data/latency.js';
import { decideDesign, designMargin, designObjective, loadScaleModel, preferMeasured, saveScaleModel, shortlistDesigns, trainScaleModel, verifyShortlist } from '../src/scale/design.js';
import { readDeviceLatencies, referenceLatencies } from '../src/scale/device-file.js';
import { budgetsAt, judgeChoice, latencyMetrics } from '../src/scale/evaluate.js';
import { compileStack, FoldedStack, stackForward, type Stack } from '../src/scale/dense.js';
import { deviceFeatures, tableDeviceFeatures } from '../src/scale/features.js';
import { averageLinkage, monotonicity } from '../src/scale/monotonicity.js';
import { DesignOptimiser } from '../src/scale/optimiser.js';
import { fitOpCosts, PairPredictor } from '../src/scale/pair.js';
import { isotonicMap, proxyReuse } from '../src/scale/proxy.js';
import { flopsRanking } from '../src/transfer/baselines.js';
import { UserError } from '../src/util/errors.js';
import { Rng } from '../src/util/random.js';
import { selectKth } from '../src/util/stats.js';
import { cli, tempDir } from './helpers.js';

const nb201 = loadLatencyData('nb201');
const TRAIN = ['1080ti_1', '1080ti_32', '1080ti_256', 'silver_4114', 'silver_4210r', 'samsung_a50', 'pixel3', 'essential_ph_1', 'samsung_s7'];

function refCsv(dir: string, device: string, o: { drop?: number; asString?: boolean } = {}): string {
  const lat = nb201.latency.get(device)!;
  const refs = nb201.referenceArchs.slice(o.drop ?? 0);
  const file = path.join(dir, `${device}.csv`);
  writeFileSync(file, 'arch,latency_ms\n' + refs.map((a) => `${o.asString ? formatArch('nb201', nb201.ops[a]!) : a},${lat[a]}`).join('\n') + '\n');
  return file;
}

describe('folded stack', () => {
  it('answers what the plain forward pass does, with the shared inputs folded in once', () => {
    const rng = new Rng(11);
    const layer = (inDim: number, out: number, relu: boolean) => ({ in: inDim, out, relu, w: Array.from({ length: inDim * out }, () => rng.normal()), b: Array.from({ length: out }, () => rng.normal()) });
    // 7 inputs of which the last 3 are shared; odd widths exercise the four-rows-at-a-time remainder
    const stack: Stack = [layer(7, 13, true), layer(13, 6, true), layer(6, 2, false)];
    const fixed = [0.5, -1.25, 2];
    const folded = new FoldedStack(compileStack(stack), fixed, 4);
    for (let t = 0; t < 20; t++) {
      // sparse rows like an architecture's one-hot encoding, and dense ones
      const x = Array.from({ length: 4 }, () => (t % 2 && rng.next() < 0.5 ? 0 : rng.normal()));
      const want = stackForward(stack, [...x, ...fixed]);
      const got = Array.from(folded.forward(x));
      got.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 9));
    }
    expect(() => new FoldedStack(compileStack(stack), fixed, 3)).toThrow(/folded inputs end at 6/);
  });
});

describe('monotonicity', () => {
  it('average linkage recovers two blocks of a similarity matrix and nothing else', () => {
    const sim = [
      [1, 0.95, 0.96, 0.2, 0.1],
      [0.95, 1, 0.94, 0.15, 0.2],
      [0.96, 0.94, 1, 0.1, 0.1],
      [0.2, 0.15, 0.1, 1, 0.93],
      [0.1, 0.2, 0.1, 0.93, 1],
    ];
    expect(averageLinkage(sim, 0.9).map((c) => [...c].sort())).toEqual([[0, 1, 2], [3, 4]]);
    expect(averageLinkage(sim, 0.99)).toHaveLength(5);
  });

  it('the NB201 matrix is symmetric with a unit diagonal, the clusters partition the devices, and GPU twins cluster together', () => {
    const m = monotonicity(nb201, { kendallSubset: 300 });
    expect(m.devices.length).toBe(nb201.devices.length);
    for (let i = 0; i < m.devices.length; i++) {
      expect(m.spearman[i]![i]).toBe(1);
      for (let j = 0; j < i; j++) expect(m.spearman[i]![j]).toBe(m.spearman[j]![i]);
    }
    expect(m.clusters.flat().sort()).toEqual([...nb201.devices].sort());
    const cluster = (d: string) => m.clusters.findIndex((c) => c.includes(d));
    expect(cluster('titanx_1')).toBe(cluster('1080ti_1'));
    expect(cluster('titanx_1')).not.toBe(cluster('raspi4'));
  });
});

describe('proxy reuse', () => {
  it('picks the device itself when it is a candidate and maps it back exactly', () => {
    const rows = [5, 100, 2000, 4000, 7000, 9000, 12000, 15000];
    const truth = nb201.latency.get('pixel2')!;
    const p = proxyReuse(nb201, ['raspi4', 'pixel2', '1080ti_1'], rows, rows.map((r) => truth[r]!));
    expect(p.proxies).toEqual(['pixel2']);
    const pred = p.predictAllMs();
    for (const a of [0, 333, 15624]) expect(pred[a]!).toBeCloseTo(truth[a]!, 3);
  });

  it('the isotonic map is non-decreasing, keeps ranks between blocks and fits a monotone sample exactly', () => {
    const x = [0, 1, 2, 3, 4];
    const f = isotonicMap(x, [0, 2, 1, 3, 5]);
    const ys = [-1, 0, 0.5, 1, 1.5, 2, 3, 4, 6].map(f);
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThanOrEqual(ys[i - 1]!);
    const g = isotonicMap(x, [1, 2, 3, 4, 5]);
    x.forEach((v, i) => expect(g(v)).toBeCloseTo(i + 1, 9));
  });

  it('refuses fewer than 3 samples', () => {
    expect(() => proxyReuse(nb201, ['pixel2'], [1, 2], [3, 4])).toThrow(UserError);
  });
});

describe('(DNN, device) predictor and design optimiser', () => {
  it('a short-trained pair predictor ranks an unseen device better than FLOPs, from its 10 references only', async () => {
    const pp = await PairPredictor.train(nb201, TRAIN, { steps: 400, form: 'mlp' });
    const truth = nb201.latency.get('titanx_1')!;
    const dp = pp.forDevice(nb201.referenceArchs.map((a) => truth[a]!));
    const m = latencyMetrics(dp.predictAllMs(), truth, nb201.referenceArchs);
    const flops = latencyMetrics(Float64Array.from(flopsRanking(nb201), Math.exp), truth);
    expect(m.spearman).toBeGreaterThan(flops.spearman);
    expect(m.spearman).toBeGreaterThan(0.9);
    // the same network answers any device from its features: a device twice as slow on its
    // references is predicted about twice as slow (the scale is added back; the net sees it too)
    const f = tableDeviceFeatures(nb201, 'titanx_1');
    const ratio = pp.predictMs(0, { ...f, scale: f.scale + Math.log(2) }) / pp.predictMs(0, f);
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.5);
    // a stored state for another space, or with the wrong input size, is refused
    expect(() => PairPredictor.fromState(loadLatencyData('fbnet'), pp.state)).toThrow(/trained on nb201/);
    expect(() => PairPredictor.fromState(nb201, { ...pp.state, stack: pp.state.stack.slice(1) })).toThrow(UserError);
  }, 120_000);

  it('the factored form: an architecture tower and a device tower whose dot product ranks an unseen device, stored and reloaded', async () => {
    const pp = await PairPredictor.train(nb201, TRAIN, { steps: 400, form: 'factored', rank: 8, hidden: 64 });
    expect(pp.state.towers?.rank).toBe(8);
    expect(pp.state.stack).toEqual([]);
    const truth = nb201.latency.get('titanx_1')!;
    const refs = nb201.referenceArchs.map((a) => truth[a]!);
    const m = latencyMetrics(pp.forDevice(refs).predictAllMs(), truth, nb201.referenceArchs);
    expect(m.spearman).toBeGreaterThan(latencyMetrics(Float64Array.from(flopsRanking(nb201), Math.exp), truth).spearman);
    expect(m.spearman).toBeGreaterThan(0.85);
    // the stored state answers the same after a JSON round trip
    const again = PairPredictor.fromState(nb201, JSON.parse(JSON.stringify(pp.state)));
    const dp = again.forDevice(refs);
    for (const a of [0, 77, 15_000]) expect(dp.predictMs(a)).toBeCloseTo(pp.forDevice(refs).predictMs(a), 9);
    // a device that adds up op costs (eyeriss, a simulated accelerator, unlike every training
    // device): the additive second opinion fits its 10 references best, carries the blend and
    // lifts the share within ±10 % over the network's calibrated answer alone
    const eyeriss = nb201.latency.get('eyeriss')!;
    const eyerissRefs = nb201.referenceArchs.map((a) => eyeriss[a]!);
    const blended = pp.forDevice(eyerissRefs);
    const networkOnly = pp.forDevice(eyerissRefs, { additive: false });
    expect(networkOnly.additiveWeight).toBe(0);
    expect(blended.additiveWeight).toBeGreaterThan(0.5);
    const [withBlend, without] = [blended, networkOnly].map((d) => latencyMetrics(d.predictAllMs(), eyeriss, nb201.referenceArchs));
    expect(withBlend!.within10).toBeGreaterThan(without!.within10);
    expect(withBlend!.within10).toBeGreaterThan(0.9);
    expect(blended.logSpread).toBeLessThanOrEqual(networkOnly.logSpread);
    // towers that do not fit the space or each other are refused
    const t = pp.state.towers!;
    expect(() => PairPredictor.fromState(nb201, { ...pp.state, towers: { ...t, rank: 4 } })).toThrow(/rank \+ 1 = 5/);
    expect(() => PairPredictor.fromState(nb201, { ...pp.state, towers: { ...t, device: t.arch } })).toThrow(UserError);
  }, 120_000);

  it("on FBNet the additive second opinion is a mix of the training devices' latencies in ms, and it helps an unseen accelerator", async () => {
    const fbnet = loadLatencyData('fbnet');
    const train = ['1080ti_1', '1080ti_32', '1080ti_64', 'silver_4114', 'silver_4210r', 'samsung_a50', 'pixel3', 'essential_ph_1', 'samsung_s7'];
    const pp = await PairPredictor.train(fbnet, train, { steps: 200, hidden: 32 });
    const truth = fbnet.latency.get('eyeriss')!;
    const refs = fbnet.referenceArchs.map((a) => truth[a]!);
    const [blended, networkOnly] = [pp.forDevice(refs), pp.forDevice(refs, { additive: false })];
    expect(blended.additiveWeight).toBeGreaterThan(0);
    expect(networkOnly.additiveWeight).toBe(0);
    const [a, b] = [blended, networkOnly].map((d) => latencyMetrics(d.predictAllMs(), truth, fbnet.referenceArchs));
    expect(a!.spearman).toBeGreaterThan(b!.spearman);
  }, 120_000);

  it('several tower pairs (members) answer as the mean of their networks, calibrated once; stored and reloaded', async () => {
    const pp = await PairPredictor.train(nb201, TRAIN, { steps: 200, form: 'factored', rank: 4, hidden: 32, members: 2 });
    expect(pp.state.moreTowers).toHaveLength(1);
    // each member alone, as a one-member predictor with the same normalisation
    const alone = [pp.state.towers!, { rank: 4, ...pp.state.moreTowers![0]! }].map((towers) => PairPredictor.fromState(nb201, { ...pp.state, towers, moreTowers: undefined }));
    const truth = nb201.latency.get('titanx_1')!;
    const dev = deviceFeatures(nb201.referenceArchs.map((a) => truth[a]!));
    for (const a of [3, 900, 14_000]) {
      const meanLog = (Math.log(alone[0]!.predictMs(a, dev)) + Math.log(alone[1]!.predictMs(a, dev))) / 2;
      expect(Math.log(pp.predictMs(a, dev))).toBeCloseTo(meanLog, 9);
    }
    const refs = nb201.referenceArchs.map((a) => truth[a]!);
    const again = PairPredictor.fromState(nb201, JSON.parse(JSON.stringify(pp.state)));
    for (const a of [0, 77, 15_000]) expect(again.forDevice(refs).predictMs(a)).toBeCloseTo(pp.forDevice(refs).predictMs(a), 9);
    expect(pp.params).toBe(alone[0]!.params + alone[1]!.params);
    const m = pp.state.moreTowers![0]!;
    expect(() => PairPredictor.fromState(nb201, { ...pp.state, moreTowers: [{ arch: m.device, device: m.arch }] })).toThrow(/moreTowers/);
    await expect(PairPredictor.train(nb201, TRAIN, { steps: 10, form: 'factored', members: 0 })).rejects.toThrow(/members must be/);
  }, 120_000);

  it('selectKth finds the k-th smallest value, duplicates included', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 500; t++) {
      const n = rng.int(1, 200);
      const v = Float64Array.from({ length: n }, () => (t % 2 ? rng.int(0, 4) : rng.normal()));
      const sorted = Float64Array.from(v).sort();
      const k = rng.int(0, n - 1);
      expect(selectKth(Float64Array.from(v), k)).toBe(sorted[k]);
    }
  });

  it('on a sampled table (FBNet) the candidate threshold holds the same designs as the scanned list', async () => {
    const fb = loadLatencyData('fbnet');
    const opt = await DesignOptimiser.train(fb, fb.devices.slice(0, 3), designObjective(fb), { steps: 50, virtualDevices: 5, budgets: 5 });
    const truth = fb.latency.get(fb.devices[5]!)!;
    const f = tableDeviceFeatures(fb, fb.devices[5]!);
    const [budget] = budgetsAt(truth, [0.5]);
    for (const m of [1, 100, 1024]) {
      const set = opt.candidateSet(f, budget!, m);
      expect(set.size).toBe(m);
      expect(fb.ops.map((_, a) => a).filter((a) => set.has(a))).toEqual([...opt.candidates(f, budget!, m)].sort((x, y) => x - y));
    }
  }, 60_000);

  it('the optimiser answers ranked distinct candidates, and the design rule respects the margin', async () => {
    const opt = await DesignOptimiser.train(nb201, TRAIN, designObjective(nb201), { steps: 300, virtualDevices: 20, budgets: 10 });
    const pp = await PairPredictor.train(nb201, TRAIN, { steps: 300 });
    const truth = nb201.latency.get('titanx_32')!;
    const dp = pp.forDevice(nb201.referenceArchs.map((a) => truth[a]!));
    const [budget] = budgetsAt(truth, [0.5]);
    const c = opt.candidates(dp.features, budget!, 50);
    expect(new Set(c).size).toBe(50);
    const lp = opt.logProbs(dp.features, budget!);
    const score = (a: number) => nb201.ops[a]!.reduce((s, op, p) => s + lp[p * 5 + op]!, 0);
    for (let i = 1; i < c.length; i++) expect(score(c[i]!)).toBeLessThanOrEqual(score(c[i - 1]!) + 1e-9);
    // nothing outside the top 50 scores higher than the 50th
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const a = rng.int(0, nb201.ops.length - 1);
      if (!c.includes(a)) expect(score(a)).toBeLessThanOrEqual(score(c[49]!) + 1e-9);
    }
    // best-first enumeration of the complete NB201 table gives the scan's list
    expect(opt.candidates(dp.features, budget!, 200)).toEqual(opt.candidates(dp.features, budget!, 200, 'scan'));
    // the membership form (a threshold on the score, found by selection) holds the same designs
    for (const m of [1, 64, 512, 4000]) {
      const set = opt.candidateSet(dp.features, budget!, m);
      expect(set.size).toBe(m);
      expect(nb201.ops.map((_, a) => a).filter((a) => set.has(a))).toEqual([...opt.candidates(dp.features, budget!, m)].sort((x, y) => x - y));
      // its fast walk (nextMember) stops exactly where `has` holds, over a shuffled order
      const order = Int32Array.from(new Rng(m).shuffle(nb201.ops.map((_, a) => a)));
      const stops: number[] = [];
      for (let k = set.nextMember(order, 0); k < order.length; k = set.nextMember(order, k + 1)) stops.push(k);
      expect(stops).toEqual([...order.keys()].filter((k) => set.has(order[k]!)));
    }
    // the log answer is the log of the answer
    for (const a of [0, 77, 15624]) expect(dp.predictLogMs(a)).toBeCloseTo(Math.log(dp.predictMs(a)), 12);
    // the rows are kept in accuracy order (a memory layout): a table without accuracies keeps the
    // architectures' order, and the same network answers exactly the same there
    const plain = PairPredictor.fromState({ ...nb201, accuracy: undefined, proxies: undefined }, pp.state).forDevice(nb201.referenceArchs.map((a) => truth[a]!));
    expect(Array.from(plain.predictAllMs())).toEqual(Array.from(dp.predictAllMs()));
    expect(plain.logSpread).toBe(dp.logSpread);
    const ans = decideDesign(opt, dp, budget!, nb201.accuracy!, { candidates: 64, z: 1 });
    // predicting lazily, most accurate first, answers what checking every candidate does
    const c64 = opt.candidates(dp.features, budget!, 64);
    const limit = Math.log(budget!) - dp.logSpread;
    const under = c64.filter((a) => Math.log(dp.predictMs(a)) <= limit);
    const expected = under.length ? under.reduce((b, a) => (nb201.accuracy![a]! > nb201.accuracy![b]! ? a : b)) : c64.reduce((b, a) => (dp.predictMs(a) < dp.predictMs(b) ? a : b));
    expect(ans.arch).toBe(expected);
    expect(ans.feasible).toBe(under.length > 0);
    expect(ans.checked).toBeLessThanOrEqual(64);
    if (ans.feasible) expect(Math.log(ans.predictedMs)).toBeLessThanOrEqual(Math.log(budget!) - dp.logSpread + 1e-12);
    // a cap on the margin: at most maxMargin below the budget; a cap of 0 is the rule without margin
    expect(designMargin({ candidates: 64, z: 1, maxMargin: 0.05 }, 0.2)).toBe(0.05);
    expect(designMargin({ candidates: 64, z: 1, maxMargin: 0.5 }, 0.2)).toBe(0.2);
    expect(decideDesign(opt, dp, budget!, nb201.accuracy!, { candidates: 64, z: 1, maxMargin: 0 })).toEqual(decideDesign(opt, dp, budget!, nb201.accuracy!, { candidates: 64, z: 0 }));
    const j = judgeChoice(ans.arch, budget!, truth, nb201.accuracy!);
    expect(j.regret).toBeGreaterThanOrEqual(0);
    // the shortlist: bolder designs first, each more accurate than the last entry (the rule's own answer)
    const list = shortlistDesigns(opt, dp, budget!, nb201.accuracy!, { candidates: 64, z: 1 }, 4, 0);
    expect(list.length).toBeGreaterThanOrEqual(1);
    expect(list.length).toBeLessThanOrEqual(4);
    expect(list.at(-1)!.arch).toBe(ans.arch);
    expect(new Set(list.map((d) => d.arch)).size).toBe(list.length);
    for (let i = 1; i < list.length; i++) expect(nb201.accuracy![list[i]!.arch]!).toBeLessThanOrEqual(nb201.accuracy![list[i - 1]!.arch]!);
    for (const d of list.slice(0, -1)) expect(d.predictedMs).toBeLessThanOrEqual(budget! * (1 + 1e-12));
    // verification keeps the first that meets the budget, and says how many it measured
    const measured: number[] = [];
    const v = verifyShortlist(list, (a) => (measured.push(a), truth[a]!), budget!);
    const firstOk = list.findIndex((d) => truth[d.arch]! <= budget!);
    if (firstOk >= 0) expect(v).toEqual({ arch: list[firstOk]!.arch, measured: firstOk + 1, met: true });
    else expect(v.met).toBe(false);
    expect(measured).toEqual(list.slice(0, v.measured).map((d) => d.arch));
    // nothing meets an impossible budget: the fastest measured is answered, flagged
    const none = verifyShortlist(list, (a) => truth[a]! + 1e6, budget!);
    expect(none.met).toBe(false);
    expect(none.measured).toBe(list.length);
  }, 120_000);
});

describe('measured designs as a floor under the answer', () => {
  const objective = [90, 92, 94, 93, 91];
  const pick = { arch: 1, predictedMs: 9, feasible: true, checked: 3 };
  it('keeps the pick unless a measured design within the budget is more accurate', () => {
    // arch 2 is the most accurate but measured over the budget; arch 3 fits and beats the pick
    const measured = new Map([
      [2, 12],
      [3, 9.5],
      [4, 5],
    ]);
    const a = preferMeasured(pick, measured, 10, objective);
    expect(a).toEqual({ arch: 3, predictedMs: 9.5, feasible: true, checked: 3, measured: true });
    // a budget only arch 4 meets: it is less accurate than the pick, which stands
    expect(preferMeasured(pick, measured, 6, objective)).toBe(pick);
    // a budget exactly at a measured latency counts as met
    expect(preferMeasured(pick, measured, 12, objective).arch).toBe(2);
  });
  it('answers a measured design that fits when no candidate was predicted to', () => {
    const none = { arch: 0, predictedMs: 20, feasible: false, checked: 5 };
    expect(preferMeasured(none, new Map([[4, 5]]), 6, objective)).toMatchObject({ arch: 4, feasible: true, measured: true });
    expect(preferMeasured(none, new Map([[4, 7]]), 6, objective)).toBe(none);
  });
});

describe('design and proxy files', () => {
  it('reads ids and architecture strings, names missing reference architectures, refuses garbage', () => {
    const dir = tempDir();
    const ok = readDeviceLatencies(refCsv(dir, 'pixel2', { asString: true }), nb201);
    expect(referenceLatencies(ok, nb201)).toEqual(nb201.referenceArchs.map((a) => nb201.latency.get('pixel2')![a]!));
    const partial = readDeviceLatencies(refCsv(dir, 'raspi4', { drop: 2 }), nb201);
    expect(() => referenceLatencies(partial, nb201)).toThrow(new RegExp(`lacks 2 .*${nb201.referenceArchs[0]} \\(\\|`));
    const bad = path.join(dir, 'bad.csv');
    for (const text of ['arch,latency_ms\n99999,1\n', 'arch,latency_ms\n5,-1\n', 'arch,ms\n5,1\n', 'arch,latency_ms\n|none~0|,1\n', 'arch,latency_ms\n5,1\n5,2\n', '']) {
      writeFileSync(bad, text);
      expect(() => readDeviceLatencies(bad, nb201)).toThrow(UserError);
    }
  });

  it('fuzz: random bytes and random CSV-ish text give a UserError or a valid file, never a crash', () => {
    const dir = tempDir();
    const f = path.join(dir, 'fuzz.csv');
    const rng = new Rng(9);
    const alphabet = 'arch,latency_ms0123456789.-|~+_\n e';
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: rng.int(0, 80) }, () => alphabet[rng.int(0, alphabet.length - 1)]).join('');
      writeFileSync(f, i % 3 === 0 ? 'arch,latency_ms\n' + text : text);
      try {
        const d = readDeviceLatencies(f, nb201);
        for (const [a, ms] of d.latency) expect(a >= 0 && a < nb201.ops.length && ms > 0).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
      }
    }
  });

  it('a damaged model file is a clear error; a saved one loads and answers', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'm.json');
    writeFileSync(file, '{"format":"nope"}');
    expect(() => loadScaleModel(file, nb201)).toThrow(/format/);
    const model = await trainScaleModel(nb201, TRAIN.slice(0, 3), { steps: 50 });
    saveScaleModel(file, { ...model, optimiser: { ...model.optimiser, stack: [] } });
    expect(() => loadScaleModel(file, nb201)).toThrow(/optimiser.stack/);
    saveScaleModel(file, model);
    expect(loadScaleModel(file, nb201).rule).toEqual(model.rule);
    // the calibration the rule was chosen for travels with it; a file from before the additive
    // blend (no 'calibration' field) keeps calibrating without it
    expect(loadScaleModel(file, nb201).calibration).toEqual({ additive: true });
    const { calibration: _, ...older } = model;
    saveScaleModel(file, older);
    expect(loadScaleModel(file, nb201).calibration).toEqual({ additive: false });
    saveScaleModel(file, { ...model, calibration: { additive: 'yes' as unknown as boolean } });
    expect(() => loadScaleModel(file, nb201)).toThrow(/calibration.additive/);
    saveScaleModel(file, { ...model, rule: { ...model.rule, maxMargin: -1 } });
    expect(() => loadScaleModel(file, nb201)).toThrow(/rule.maxMargin/);
    expect(() => loadScaleModel(file, loadLatencyData('fbnet'))).toThrow(/trained for nb201/);
  }, 60_000);
});

describe('CLI', () => {
  it('design trains on first use, answers a design under the budget, and refuses bad input before training', () => {
    const dir = tempDir();
    const db = path.join(dir, 'x.db');
    const model = path.join(dir, 'design.json');
    const missing = cli(['design', '--device-latencies', refCsv(dir, 'raspi4', { drop: 1 }), '--budget-ms', '20', '--model', model], db);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/lacks 1 of the 10 reference architectures/);
    const r = cli(['design', '--device-latencies', refCsv(dir, 'pixel2'), '--budget-ms', '15', '--model', model, '--train-steps', '100', '--json'], db);
    expect(r.code, r.stderr).toBe(0);
    const ans = JSON.parse(r.stdout);
    expect(ans.architecture).toBe(formatArch('nb201', nb201.ops[ans.arch]!));
    if (ans.meetsBudgetPredicted) expect(ans.predictedMs).toBeLessThanOrEqual(15);
    const listed = cli(['design', '--device-latencies', refCsv(dir, 'pixel2'), '--budget-ms', '15', '--model', model, '--shortlist', '3'], db);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/measure in this order and keep the first that meets 15 ms/);
    expect(listed.stdout).toContain(String(ans.arch));
    expect(cli(['design', '--device-latencies', refCsv(dir, 'pixel2'), '--budget-ms', '-3', '--model', model], db).code).not.toBe(0);
    // a budget below every design: said so, nothing answered
    const below = cli(['design', '--device-latencies', refCsv(dir, 'pixel2'), '--budget-ms', '0.001', '--model', model, '--json'], db);
    expect(below.code).toBe(2);
    expect(below.stdout).toBe('');
    expect(below.stderr).toMatch(/--budget-ms: no nb201 design is predicted to meet 0\.001 ms on this device: the fastest predicted is .* at \d+\.\d{3} ms/);
  }, 180_000);

  it('measure-archs builds NB201 candidates as ONNX, times them here and writes the CSV design and proxy read', () => {
    const dir = tempDir();
    const db = path.join(dir, 'x.db');
    const out = path.join(dir, 'mine.csv');
    const r = cli(['measure-archs', '--archs', '55,9,431', '--out', out], db);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('arch,latency_ms');
    expect(rows.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([55, 9, 431]);
    for (const l of rows.slice(1)) expect(Number(l.split(',')[1])).toBeGreaterThan(0);
    // arch 9 has two 3×3 convolutions per cell, arch 55 none: it must be slower here too
    const ms = Object.fromEntries(rows.slice(1).map((l) => l.split(',').map(Number)));
    expect(ms[9]).toBeGreaterThan(ms[55]!);
    expect(cli(['proxy', '--device-latencies', out], db).code).toBe(0);
    expect(cli(['measure-archs', '--archs', '99999'], db).stderr).toMatch(/--archs: architecture id 99999 is out of range/);
  }, 120_000);

  it('proxy and monotonicity print their answers', () => {
    const dir = tempDir();
    const db = path.join(dir, 'x.db');
    const p = cli(['proxy', '--device-latencies', refCsv(dir, 'pixel2'), '--proxies', 'pixel2,raspi4', '--out', path.join(dir, 'p.csv')], db);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/proxy: pixel2 \(Spearman 1\.000/);
    const bad = cli(['proxy', '--device-latencies', refCsv(dir, 'pixel2'), '--proxies', 'nosuch'], db);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown device 'nosuch'/);
    const m = cli(['monotonicity', '--space', 'nb201', '--plot', path.join(dir, 'h.svg')], db);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/clusters \(average linkage/);
    // the plot libraries load on first use (util/lazy.ts, report/plot.ts): the heatmap is still drawn
    expect(readFileSync(path.join(dir, 'h.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(path.join(dir, 'h.png'))).toBe(true);
  }, 180_000);
});

describe('op-count cost model of a device (the additive second opinion on NB201)', () => {
  // 10 cells' op counts (skip, 1×1, 3×3, pool; the rest of the 6 edges 'none', which is free)
  const counts = [[6, 0, 0, 0], [0, 6, 0, 0], [0, 0, 6, 0], [0, 0, 0, 6], [2, 2, 2, 0], [1, 1, 3, 1], [3, 0, 0, 0], [0, 2, 1, 0], [0, 0, 2, 1], [1, 0, 0, 1]];
  const at = (w: number[], c: number[]) => w[0]! + c.reduce((s, n, j) => s + n * w[j + 1]!, 0);
  it('recovers the costs of a device that adds them up, and answers its references out of sample', () => {
    const truth = [0.4, 0.01, 0.3, 1.2, 0.05];
    const y = counts.map((c) => at(truth, c));
    const f = fitOpCosts(counts, y);
    const w = [f.raw.intercept, ...f.raw.weights];
    for (const [j, v] of truth.entries()) expect(w[j]!).toBeCloseTo(v, 2);
    f.loo.forEach((p, i) => expect(Math.abs(p / y[i]! - 1)).toBeLessThan(0.02));
  });

  it('keeps every op cost ≥ 0 where noise would push one below, and fits relative error (the fast references count as much as the slow)', () => {
    const rng = new Rng(4);
    // skip is free on this device; ±15 % noise
    const truth = [0.2, 0, 0.5, 3, 0.1];
    for (let trial = 0; trial < 20; trial++) {
      const y = counts.map((c) => at(truth, c) * (0.85 + 0.3 * rng.next()));
      const f = fitOpCosts(counts, y);
      expect(f.raw.weights.every((v) => v >= 0)).toBe(true);
      const rel = counts.map((c, i) => Math.abs((f.raw.intercept + c.reduce((s, n, j) => s + n * f.raw.weights[j]!, 0)) / y[i]! - 1));
      // the fastest reference (all skips) is not sacrificed to the slow ones
      expect(rel[0]!).toBeLessThan(0.5);
    }
  });
});
