import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../src/data/csv.js';
import { defaultDataDir, loadLatencyData, parseNb201, requireDevice } from '../src/data/latency.js';
import { archString, bestUnderBudget, DEFAULT_EVOLUTION, evolve } from '../src/nas/evolution.js';
import { loadTfjsWasm } from '../src/runtimes/tfjs.js';
import { encode, graphOf } from '../src/transfer/encoding.js';
import { gaeEmbedding } from '../src/transfer/gae.js';
import { kendallTau, rankMetrics } from '../src/transfer/metrics.js';
import { generateTasks } from '../src/transfer/partition.js';
import { TransferPredictor, DEFAULT_PREDICTOR } from '../src/transfer/predictor.js';
import { fitRidge } from '../src/regressors/ridge.js';
import { SAMPLERS, selectSamples } from '../src/transfer/sampling.js';
import { getTask } from '../src/transfer/tasks.js';
import { isUserError } from '../src/util/errors.js';
import { Rng } from '../src/util/random.js';
import { spearman } from '../src/util/stats.js';
import { cli, tempDir } from './helpers.js';

const nb201 = loadLatencyData('nb201');
const fbnet = loadLatencyData('fbnet');

describe('bundled latency data', () => {
  it('loads NB201 and FBNet with every device, accuracy, proxies and reference archs', () => {
    expect(nb201.ops).toHaveLength(15_625);
    expect(nb201.devices).toContain('raspi4');
    expect(nb201.accuracy![0]).toBeGreaterThan(0);
    expect(Math.max(...nb201.accuracy!)).toBeCloseTo(94.37, 1);
    expect(nb201.referenceArchs).toHaveLength(10);
    expect(fbnet.ops).toHaveLength(5000);
    expect(fbnet.ops[0]).toHaveLength(22);
    expect(fbnet.proxies!.names).toContain('synflow');
    // every task's devices exist
    for (const t of ['nb201-help', 'fbnet-help', 'fbnet-1', 'fbnet-5']) {
      const task = getTask(t);
      const data = task.space === 'nb201' ? nb201 : fbnet;
      for (const d of [...task.train, ...task.test]) expect(() => requireDevice(data, d)).not.toThrow();
    }
  });

  it('parses NB201 strings and round-trips them', () => {
    const s = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
    expect(archString(parseNb201(s, 'x'))).toBe(s);
    expect(() => parseNb201('|conv~0|+|a~0|b~1|+|c~0|d~1|e~2|', 'f.csv: line 2')).toThrow(/f\.csv: line 2: .*bad edge 'conv~0'/);
    expect(() => parseNb201('|nor_conv_3x3~0|', 'x')).toThrow(/expected 3 nodes/);
  });

  it('reports corrupt files with file, line and column', () => {
    const dir = tempDir();
    const src = path.join(defaultDataDir(), 'nb201');
    mkdirSync(path.join(dir, 'nb201'));
    for (const f of ['archs.csv.gz', 'accuracy.csv.gz', 'hardware_embedding_index.json']) copyFileSync(path.join(src, f), path.join(dir, 'nb201', f));
    writeFileSync(path.join(dir, 'nb201', 'latency.csv.gz'), gzipSync('arch_id,dev_a\n0,1.5\n1,abc\n'));
    expect(() => loadLatencyData('nb201', dir)).toThrow(/latency\.csv\.gz: has 2 rows, archs\.csv\.gz has 15625/);
    writeFileSync(path.join(dir, 'nb201', 'latency.csv.gz'), 'not gzip');
    expect(() => loadLatencyData('nb201', dir)).toThrow(/not a valid gzip file/);
    expect(() => parseCsv('a,b\n1,2\n3\n', 'x.csv')).toThrow(/x\.csv: line 3: expected 2 columns, got 1/);
    expect(() => loadLatencyData('nb999')).toThrow(/unknown search space 'nb999'/);
  });

  it('fuzz: mutated CSV text gives rows or a UserError, never anything else', () => {
    const rng = new Rng(4);
    const base = 'arch_id,a,b\n0,1.5,2\n1,2.5,3\n';
    const alphabet = [',', '\n', '\r', '"', 'x', '1', '.', '-', '', ' '];
    for (let i = 0; i < 2000; i++) {
      const chars = [...base];
      for (let m = 0; m < rng.int(1, 6); m++) chars.splice(rng.int(0, chars.length), rng.int(0, 2), alphabet[rng.int(0, alphabet.length - 1)]!);
      try {
        parseCsv(chars.join(''), 'fuzz.csv');
      } catch (e) {
        if (!isUserError(e)) throw e;
      }
    }
  });
});

describe('encodings, selectors, metrics', () => {
  it('one-hot rows have one op per position; supplementary columns are appended', () => {
    const e = encode(nb201, 'onehot');
    expect(e.dim).toBe(30);
    for (let r = 0; r < 50; r++) expect(e.x.subarray(r * 30, r * 30 + 30).reduce((a, b) => a + b, 0)).toBe(6);
    expect(encode(nb201, 'onehot+flops').dim).toBe(32);
    expect(encode(fbnet, 'onehot+zcp').dim).toBe(22 * 9 + fbnet.proxies!.names.length);
    expect(() => encode(nb201, 'onehot+zcp')).toThrow(/FBNet only/);
  });

  it('the NB201 graph view has a symmetric normalised adjacency over 8 nodes', () => {
    const g = graphOf(nb201);
    expect(g.nodes).toBe(8);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(g.adjacency[i * 8 + j]).toBeCloseTo(g.adjacency[j * 8 + i]!, 6);
  });

  it('every selector returns k distinct archs; k out of range is an error', () => {
    const train = getTask('nb201-help').train;
    const enc = encode(nb201, 'onehot');
    for (const s of SAMPLERS) {
      const picks = selectSamples(s, 10, nb201, train, enc, 3);
      expect(new Set(picks).size, s).toBe(10);
      expect(picks.every((i) => i >= 0 && i < 15_625)).toBe(true);
    }
    expect(selectSamples('reference', 10, nb201, train, enc, 1)).toEqual(nb201.referenceArchs);
    expect(() => selectSamples('random', 20_000, nb201, train, enc, 1)).toThrow(/k must be an integer in \[2, 15625\]/);
  });

  it('ridge recovers a linear map and Kendall τ agrees with Spearman in sign', () => {
    const rng = new Rng(1);
    const X = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next()]);
    const y = X.map(([a, b]) => 2 * a! - b! + 0.5);
    const m = fitRidge(X, y);
    expect(m.predict([0.5, 0.5, 0.5])).toBeCloseTo(1.0, 1);
    const a = Array.from({ length: 500 }, () => rng.next());
    const b = a.map((v) => v + 0.1 * rng.next());
    expect(kendallTau(a, b)).toBeGreaterThan(0.7);
    expect(kendallTau(a, b.map((v) => -v))).toBeLessThan(-0.7);
    expect(rankMetrics(a, b, [0, 1]).spearman).toBeCloseTo(spearman(a.slice(2), b.slice(2)), 10);
  });

  it('generated partitions are disjoint, cover every device and are labelled by difficulty', () => {
    const tasks = generateTasks(nb201, { count: 5, testSize: 3, seed: 2 });
    expect(tasks.length).toBe(5);
    for (const t of tasks) {
      expect(t.test).toHaveLength(3);
      expect(t.train.filter((d) => t.test.includes(d))).toEqual([]);
      expect(new Set([...t.train, ...t.test]).size).toBe(nb201.devices.length);
      expect(['easy', 'medium', 'hard']).toContain(t.label);
    }
    expect(tasks[0]!.difficulty).toBeLessThanOrEqual(tasks.at(-1)!.difficulty);
    expect(() => generateTasks(nb201, { count: 5, testSize: 99, seed: 1 })).toThrow(/--test-size/);
  });
});

describe('graph-autoencoder encoding', () => {
  it('embeds every architecture without latency labels; the embedding separates architectures', async () => {
    const tf = await loadTfjsWasm();
    expect(() => encode(fbnet, 'onehot+gae')).toThrow(/encodeAsync/);
    const z = await gaeEmbedding(tf, fbnet, { dim: 8, epochs: 1 });
    expect(z).toHaveLength(5000);
    expect(z[0]).toHaveLength(8);
    const col = z.map((r) => r[0]!);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    expect(Math.sqrt(col.reduce((s, v) => s + (v - m) ** 2, 0) / col.length)).toBeGreaterThan(1e-3);
    const e = encode(fbnet, 'onehot+gae', z);
    expect(e.dim).toBe(22 * 9 + 8);
  }, 120_000);
});

describe('few-shot transfer and NAS', () => {
  it('pretrains on the HELP training devices and transfers to an unseen CPU from 10 samples', async () => {
    const tf = await loadTfjsWasm();
    const task = getTask('nb201-help');
    const p = await TransferPredictor.pretrain(tf, nb201, task.train, { ...DEFAULT_PREDICTOR, epochs: 3, hidden: 64 });
    const truth = requireDevice(nb201, 'gold_6226');
    const samples = selectSamples('stratified', 10, nb201, task.train, encode(nb201, 'onehot'), 1);
    const pred = (await p.adapt(samples, samples.map((i) => truth[i]!))).predictAllMs();
    expect(pred).toHaveLength(15_625);
    const { spearman: rho } = rankMetrics(pred, truth, samples);
    expect(rho).toBeGreaterThan(0.85);
    // predicted milliseconds are on the device's scale, not just a ranking
    const ratio = pred.reduce((s, v, i) => s + v / truth[i]!, 0) / pred.length;
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.4);
    p.dispose();
  }, 120_000);

  it('evolution with the true latencies finds a cell within the budget close to the best', () => {
    const lat = requireDevice(nb201, 'raspi4');
    const budget = [...lat].sort((a, b) => a - b)[Math.floor(lat.length / 2)]!;
    const r = evolve(nb201, (a) => lat[a]!, { ...DEFAULT_EVOLUTION, budgetMs: budget });
    expect(lat[r.best]!).toBeLessThanOrEqual(budget);
    const best = bestUnderBudget(nb201, 'raspi4', budget);
    expect(nb201.accuracy![best]! - nb201.accuracy![r.best]!).toBeLessThan(1.5);
    // and far better than a random cell under the budget
    expect(nb201.accuracy![r.best]!).toBeGreaterThan(90);
    expect(r.evaluated.length).toBeGreaterThan(50);
  });

  it('CLI: bad input to tasks / transfer / nas gets a clear error', () => {
    const db = path.join(tempDir(), 'x.db');
    expect(cli(['transfer', '--task', 'nope'], db).stderr).toMatch(/unknown task 'nope', expected one of: nb201-help/);
    expect(cli(['transfer', '--task', 'nb201-help', '--device', 'tpu9'], db).stderr).toMatch(/unknown device 'tpu9' for nb201/);
    // a training device would score the pretraining, not the transfer (it silently gave 0.969 before)
    const train = cli(['transfer', '--task', 'nb201-help', '--device', '1080ti_1'], db);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/--device: '1080ti_1' is one of nb201-help's training devices.*pick a test device: /);
    expect(cli(['transfer', '--task', 'nb201-help', '--k', '1'], db).stderr).toMatch(/--k: expected integers >= 2/);
    const nas = cli(['nas', '--device', 'raspi4', '--budget-ms', '20', '--samples', '99999'], db);
    expect(nas.code).toBe(2);
    expect(nas.stderr).toMatch(/k must be an integer in \[2, 15625\]/);
    expect(cli(['nas', '--space', 'fbnet', '--device', 'raspi4', '--budget-ms', '20'], db).stderr).toMatch(/nb201 only/);
    expect(cli(['tasks', '--space', 'nb201', '--test-size', '40'], db).stderr).toMatch(/--test-size: must be an integer in \[1, 25\]/);
  });
});

describe('the adaptation guard', () => {
  const y = [1, 2, 3, 4, 5, 6];
  const mk = (source: string, loo: number[]) => ({ source, loo, predictAllMs: () => Float64Array.of(loo.length) });
  const proxy = mk('proxy:pixel3', [1.1, 2.2, 2.9, 4.2, 5.1, 5.8]);
  const flops = mk('flops', [2, 1, 3, 5, 4, 6]);

  it('uses a fallback whose leave-one-out predictions rank the k samples better, and says so', async () => {
    const { guardWithFallbacks } = await import('../src/transfer/predictor.js');
    const inverse = mk('transfer', [6, 5, 4, 3, 2, 1]);
    expect(guardWithFallbacks(inverse, [flops, proxy], y).source).toBe('proxy:pixel3');
    const good = mk('transfer', [1, 2, 3, 4, 5, 6]);
    expect(guardWithFallbacks(good, [flops, proxy], y).source).toBe('transfer');
    // a margin keeps the adapted predictor unless a fallback is clearly better
    const fair = mk('transfer', [1, 3, 2, 4, 5, 6]);
    expect(guardWithFallbacks(fair, [proxy], y, { margin: 0 }).source).toBe('proxy:pixel3');
    expect(guardWithFallbacks(fair, [proxy], y, { margin: 0.5 }).source).toBe('transfer');
  });

  it('scores by the size of the leave-one-out errors (R²) by default: a proxy that only ranks the samples right loses to a close fit', async () => {
    const { guardWithFallbacks } = await import('../src/transfer/predictor.js');
    // right order, far off: Spearman 1, R² < 0
    const luckyProxy = mk('proxy:pixel3', [1, 1.1, 1.2, 1.3, 1.4, 9]);
    const close = mk('transfer', [1.2, 2.4, 2.2, 3.9, 5.2, 5.9]); // one swapped pair
    expect(guardWithFallbacks(close, [luckyProxy], y).source).toBe('transfer');
    expect(guardWithFallbacks(close, [luckyProxy], y, { score: 'spearman' }).source).toBe('proxy:pixel3');
  });

  it('drops an adapted predictor that ranks the space against FLOPs, even when it fits the k samples best', async () => {
    const { guardWithFallbacks } = await import('../src/transfer/predictor.js');
    const perfect = mk('transfer', [1, 2, 3, 4, 5, 6]);
    expect(guardWithFallbacks(perfect, [flops], y, { implausible: false }).source).toBe('transfer');
    expect(guardWithFallbacks(perfect, [flops], y, { implausible: true }).source).toBe('flops');
  });

  it('answers FLOPs when no candidate ranks the k samples (uninformative samples), and reports the best score', async () => {
    const { guardWithFallbacks } = await import('../src/transfer/predictor.js');
    const noise = mk('transfer', [3, 6, 1, 5, 2, 4]);
    const noisyProxy = mk('proxy:pixel3', [4, 1, 6, 2, 5, 3]);
    const g = guardWithFallbacks(noise, [flops, noisyProxy], y, { uninformativeBelow: 0.99 });
    expect(g.source).toBe('flops (samples uninformative)');
    expect(g.looScore).toBeLessThan(0.99);
    // the same candidates with the rule off: the best-scoring candidate answers
    expect(guardWithFallbacks(noise, [flops, noisyProxy], y).source).not.toMatch(/uninformative/);
    // a candidate that ranks the samples well keeps the rule from firing
    expect(guardWithFallbacks(mk('transfer', [1, 2, 3, 4, 5, 6]), [flops, noisyProxy], y, { uninformativeBelow: 0.5 }).source).toBe('transfer');
  });

  it('blends the choice with the runner-up: geometric mean of their latencies, always or only when its leave-one-out score is higher', async () => {
    const { guardWithFallbacks } = await import('../src/transfer/predictor.js');
    const at = (source: string, loo: number[], ms: number[]) => ({ source, loo, predictAllMs: () => Float64Array.from(ms) });
    // over- and under-estimates that cancel: the blend's leave-one-out predictions are exact
    const high = at('transfer', y.map((v) => v + 0.3), [4, 9]);
    const low = at('proxy:pixel3', y.map((v) => v - 0.4), [1, 1]);
    const far = at('flops', [6, 5, 4, 3, 2, 1], [100, 100]);
    const b = guardWithFallbacks(high, [far, low], y, { blend: 2 });
    expect(b.source).toBe('blend:transfer+proxy:pixel3');
    expect(Array.from(b.predictAllMs())).toEqual([2, 3]);
    expect(guardWithFallbacks(high, [far, low], y, { blend: 2, blendMode: 'scored' }).source).toBe('blend:transfer+proxy:pixel3');
    // a runner-up that only adds error: blended always, kept out when scored
    const worse = at('proxy:pixel3', y.map((v) => v + 0.9), [1, 1]);
    expect(guardWithFallbacks(high, [worse], y, { blend: 2 }).source).toBe('blend:transfer+proxy:pixel3');
    expect(guardWithFallbacks(high, [worse], y, { blend: 2, blendMode: 'scored' }).source).toBe('transfer');
    expect(guardWithFallbacks(high, [worse], y).source).toBe('transfer');
  });
});
