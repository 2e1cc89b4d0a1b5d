import { readFileSync } from 'node:fs';
import ort from '../runtimes/ort-node.js';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { DirectSession } from '../runtimes/ort-direct.js';
import { median } from '../util/stats.js';
import {
  analyseGraph,
  extractSegment,
  featureDim,
  gridFor,
  loadClassifier,
  namedCuts,
  pooledName,
  probsName,
  type CompiledHead,
  spreadCuts,
  type CutPoint,
  type GraphAnalysis,
} from './onnx-graph.js';
import { resolveInputShape } from '../ir/onnx-load.js';
import { CASCADE_EXIT, CASCADE_OUT, cascadeGraph, skipInput, thresholdInput } from './cascade-graph.js';
import { sessionOptions } from '../runtimes/ort.js';

export interface SegmentedModelOptions {
  /** batch-1 input shape for models with dynamic dims, e.g. [1, 3, 48, 192] */
  inputShape?: number[];
  /** explicit cut tensors; default: up to `maxCuts` spread over the FLOPs */
  cuts?: string[];
  maxCuts?: number;
  /** onnxruntime intra-op threads (1 = the measurement setting) */
  threads?: number;
  /** cache features: average pooling on a grid×grid layout (1 = global) ⊕ global max; default 3 */
  grid?: number;
  /**
   * a cut whose grid features would exceed this many values falls back to a smaller grid; default
   * 640 (measured on the Fashion-MNIST backbone: the 64-channel cut gets a 3×3 grid instead of
   * 2×2, and its head lets 78 % instead of 70 % of requests exit at the same agreement)
   */
  maxFeatures?: number;
}

export const DEFAULT_MAX_FEATURES = 640;

/** Measured per-request costs in ms (medians), used by the cache manager to price a cascade. */
export interface SegmentCosts {
  full: number;
  audit: number;
  /** fine[i]: the block from cut i−1 (or the input) to cut i (or the end, i = cuts.length) */
  fine: number[];
  /** the fixed cost of one extra session run, estimated as (Σ fine − full) / #cuts */
  splitOverhead: number;
}

/**
 * A classifier split at its cut points into onnxruntime-node sessions, created on demand.
 * Points are numbered: −1 = the input, 0..C−1 = the cuts, C = the end (the model's output).
 */
export class SegmentedModel {
  private readonly sessions = new Map<string, Promise<DirectSession>>();
  /** cache heads compiled into the segments that end at their cut, with a version per change */
  private heads = new Map<number, { head: CompiledHead; version: number }>();
  /** sessions replaced by a newer head, released at the next update (a request may still hold one) */
  private retired: Array<Promise<DirectSession>> = [];
  readonly inputSize: number;

  private constructor(
    readonly path: string,
    private readonly model: ReturnType<typeof loadClassifier>,
    readonly analysis: GraphAnalysis,
    readonly cuts: CutPoint[],
    readonly threads: number,
    grid: number,
    maxFeatures: number,
  ) {
    this.inputSize = analysis.inputShape.reduce((a, b) => a * b, 1);
    this.grids = new Map(cuts.map((c) => [c, gridFor(c, grid, maxFeatures)]));
    this.featureDims = cuts.map((c) => featureDim(c, this.grids.get(c)!));
  }

  /** pooling grid chosen for each cut */
  private readonly grids: Map<CutPoint, number>;
  private readonly gridOf = (c: CutPoint) => this.grids.get(c) ?? 1;

  /** length of the pooled feature vector at each cut */
  readonly featureDims: number[];

  static async open(path: string, o: SegmentedModelOptions = {}): Promise<SegmentedModel> {
    const model = loadClassifier(path);
    const shape = resolveInputShape(model, o.inputShape, path);
    const analysis = await analyseGraph(ort, model, shape);
    const cuts = o.cuts?.length ? namedCuts(analysis, o.cuts, `${path}: --cuts`) : spreadCuts(analysis, o.maxCuts ?? 6);
    return new SegmentedModel(path, model, analysis, cuts, o.threads ?? 1, o.grid ?? 3, o.maxFeatures ?? DEFAULT_MAX_FEATURES);
  }

  /** number of classes (the output's length), known after warm(); 0 before */
  classes = 0;

  private options(): InferenceSession.SessionOptions {
    return sessionOptions(this.threads);
  }

  private session(key: string, bytes: () => Uint8Array): Promise<DirectSession> {
    let s = this.sessions.get(key);
    if (!s) {
      // request-path sessions call the native run directly (runtimes/ort-direct.ts: ~20 µs a run)
      s = (async () => DirectSession.create(bytes(), this.options()))();
      this.sessions.set(key, s);
    }
    return s;
  }

  /** the unmodified model */
  fullSession(): Promise<DirectSession> {
    return this.session('full', () => readFileSync(this.path));
  }

  /** the whole model plus the pooled features of every cut (what an audited request runs) */
  auditSession(): Promise<DirectSession> {
    return this.session('audit', () => extractSegment(this.model, this.analysis, null, null, this.cuts, this.gridOf));
  }

  /**
   * cuts whose pooled features a segment (from → to) outputs: every cut it passes, `to` included;
   * a lean segment only `to` (the features its own head reads, which the segment computes anyway)
   */
  pooledIn(from: number, to: number, lean = false): number[] {
    if (lean) return to > from && to < this.cuts.length ? [to] : [];
    const out: number[] = [];
    for (let i = from + 1; i <= Math.min(to, this.cuts.length - 1); i++) out.push(i);
    return out;
  }

  /**
   * Segment from point `from` to point `to`. It outputs the pooled features of every cut it passes
   * (pooling is ~1 % of a stage's FLOPs), so a request that reaches the end yields a full training
   * record for every cache.
   */
  segmentSession(from: number, to: number, lean = false): Promise<DirectSession> {
    return this.session(segmentKey(this.heads, from, to, lean), () => this.segmentBytes(from, to, this.heads.get(to)?.head, lean));
  }

  private segmentBytes(from: number, to: number, head: CompiledHead | undefined, lean: boolean): Uint8Array {
    const C = this.cuts.length;
    return extractSegment(this.model, this.analysis, from < 0 ? null : this.cuts[from]!, to >= C ? null : this.cuts[to]!, this.pooledIn(from, to, lean).map((i) => this.cuts[i]!), this.gridOf, head);
  }

  /**
   * Compiles cache heads into the segments ending at their cuts (null removes one). The sessions
   * of `prebuild` segments are created first under the new versions, then the switch happens at
   * once: a request in flight keeps its old sessions, the next one finds the new ones ready.
   * Old sessions are released at the next update.
   */
  async updateHeads(changes: Array<[number, CompiledHead | null]>, prebuild: SegmentRef[], fused?: { caches: readonly number[]; skips: readonly boolean[] }): Promise<void> {
    for (const [i] of changes) if (i < 0 || i >= this.cuts.length) throw new Error(`no cut ${i}`);
    const next = new Map(this.heads);
    for (const [i, head] of changes) {
      if (head) next.set(i, { head, version: (this.heads.get(i)?.version ?? 0) + 1 });
      else next.delete(i);
    }
    for (const [a, b, lean = false] of prebuild) await this.warmed(a, this.session(segmentKey(next, a, b, lean), () => this.segmentBytes(a, b, next.get(b)?.head, lean)));
    const fusedNext = fused ? await this.buildCascade(fused.caches, fused.skips, next) : undefined;
    // sessions retired by the previous update (seconds ago): no request can still hold one
    const old = this.retired;
    this.retired = [];
    for (const r of old) (await r).release();
    // the switch, with no await from here on: the caller can swap its thresholds in the same tick
    // retire sessions built for heads that changed
    const changed = new Set(changes.map(([i]) => i));
    for (const [key, s] of this.sessions) {
      if (key.startsWith('cascade:')) {
        if (key === fusedNext?.key || !key.slice(8).split(',').some((part) => changed.has(Number.parseInt(part, 10)))) continue;
        this.sessions.delete(key);
        this.readyCascades.delete(key);
        this.retired.push(s);
        continue;
      }
      const m = /^(-?\d+)->(\d+)/.exec(key);
      if (!m || !changed.has(Number(m[2])) || key === segmentKey(next, Number(m[1]), Number(m[2]), key.endsWith(LEAN))) continue;
      this.sessions.delete(key);
      this.retired.push(s);
    }
    this.heads = next;
    if (fusedNext && this.sessions.has(fusedNext.key)) this.readyCascades.set(fusedNext.key, fusedNext.session);
  }

  /** Removes every compiled head at once (sessions retired as in updateHeads). */
  clearHeads(): void {
    for (const [key, s] of this.sessions) {
      if (!key.includes('#')) continue;
      this.sessions.delete(key);
      this.retired.push(s);
    }
    this.readyCascades.clear();
    this.heads.clear();
  }

  /** fused cascade sessions (cascade-graph.ts) that are built and warmed, by key */
  private readonly readyCascades = new Map<string, DirectSession>();

  /** key of the fused cascade over these caches with these heads; undefined when one lacks a compiled head */
  private cascadeKey(caches: readonly number[], skips: readonly boolean[], heads: ReadonlyMap<number, { version: number }> = this.heads): string | undefined {
    const parts = caches.map((c, j) => {
      const h = heads.get(c);
      return h ? `${c}#${h.version}${skips[j] ? 's' : ''}` : undefined;
    });
    return parts.length && parts.every((p) => p !== undefined) ? `cascade:${parts.join(',')}` : undefined;
  }

  /**
   * Builds and warms the fused session of a cascade (off the request path); false when a cache
   * has no compiled head. `skips[j]`: stage j may send a request straight to the end.
   */
  async prepareCascade(caches: readonly number[], skips: readonly boolean[]): Promise<boolean> {
    const built = await this.buildCascade(caches, skips, this.heads);
    // the heads may have changed while building: only a current key becomes ready
    if (built && this.sessions.has(built.key)) this.readyCascades.set(built.key, built.session);
    return built !== undefined;
  }

  /** creates and warms the fused session of a cascade under the given heads (not yet ready for requests) */
  private async buildCascade(caches: readonly number[], skips: readonly boolean[], heads: ReadonlyMap<number, { head: CompiledHead; version: number }>): Promise<{ key: string; session: DirectSession } | undefined> {
    const key = this.cascadeKey(caches, skips, heads);
    if (!key) return undefined;
    const ready = this.readyCascades.get(key);
    if (ready) return { key, session: ready };
    const stages = caches.map((c, j) => ({ at: c, head: heads.get(c)!.head, skips: skips[j]! }));
    const session = await this.session(key, () => cascadeGraph(this.model, this.analysis, this.cuts, stages, this.gridOf));
    const zeros = new ort.Tensor('float32', new Float32Array(this.inputSize), this.analysis.inputShape);
    // warm every branch: never exit (the full path, then the skips), then exit at once
    for (const [th, skip] of [[2, 0], [2, 2], [0, 0]] as const) for (let i = 0; i < 2; i++) session.run(this.cascadeFeeds(stages, zeros, caches.map(() => th), caches.map(() => skip)));
    return { key, session };
  }

  private cascadeFeeds(stages: ReadonlyArray<{ skips: boolean }>, input: Tensor, thresholds: readonly number[], skipBelow: readonly number[]): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = { [this.analysis.inputName]: input };
    const scalar = (v: number) => new ort.Tensor('float32', Float32Array.of(v), []);
    stages.forEach((st, j) => {
      feeds[thresholdInput(j)] = scalar(thresholds[j]!);
      if (st.skips && j < stages.length - 1) feeds[skipInput(j)] = scalar(skipBelow[j] ?? 0);
    });
    return feeds;
  }

  /**
   * Runs a request through the fused cascade in one session run, if that session is ready (else
   * undefined: the caller takes the segmented path). `exit`: the stage that answered, n for the
   * end through every stage, n + 1 + j for a skip to the end from stage j (cascade-graph.ts).
   */
  async runCascade(caches: readonly number[], skips: readonly boolean[], input: Tensor, thresholds: readonly number[], skipBelow: readonly number[]): Promise<{ out: Float32Array; exit: number; pooled: Float32Array[] } | undefined> {
    const key = this.cascadeKey(caches, skips);
    const s = key ? this.readyCascades.get(key) : undefined;
    if (!s) return undefined;
    const stages = caches.map((_, j) => ({ skips: skips[j]! }));
    const r = s.run(this.cascadeFeeds(stages, input, thresholds, skipBelow));
    return { out: r[CASCADE_OUT]!.data as Float32Array, exit: Number(r[CASCADE_EXIT]!.data[0]), pooled: this.cuts.map((c) => r[pooledName(c.tensor)]!.data as Float32Array) };
  }

  /** true when cut i's segments compute its cache head's probabilities */
  hasHead(i: number): boolean {
    return this.heads.has(i);
  }

  /** Creates the sessions of the given segments now (off the request path). */
  async prepare(pairs: SegmentRef[]): Promise<void> {
    for (const [a, b, lean] of pairs) await this.warmed(a, this.segmentSession(a, b, lean));
  }

  private readonly warmedSessions = new WeakSet<DirectSession>();

  /**
   * Runs a new segment session twice on zeros before any request can get it: its first run takes
   * about twice as long as the steady state (measured on a Fashion-MNIST segment: 0.47 ms, then
   * 0.28, then 0.24), and heads are recompiled after every training round.
   */
  private async warmed(from: number, session: Promise<DirectSession>): Promise<void> {
    const s = await session;
    if (this.warmedSessions.has(s)) return;
    const { name, shape } = this.entry(from);
    const zeros = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    for (let i = 0; i < 2; i++) s.run({ [name]: zeros });
    this.warmedSessions.add(s);
  }

  /** the tensor a segment starting at point `from` reads: the model input, or the cut tensor */
  private entry(from: number): { name: string; shape: number[] } {
    return from < 0 ? { name: this.analysis.inputName, shape: this.analysis.inputShape } : { name: this.cuts[from]!.tensor, shape: this.cuts[from]!.shape };
  }

  inputTensor(x: Float32Array): Tensor {
    if (x.length !== this.inputSize) throw new Error(`input has ${x.length} values, expected ${this.inputSize}`);
    return new ort.Tensor('float32', x, this.analysis.inputShape);
  }

  async runFull(x: Float32Array): Promise<Float32Array> {
    const s = await this.fullSession();
    const r = s.run({ [this.analysis.inputName]: this.inputTensor(x) });
    return r[this.analysis.outputName]!.data as Float32Array;
  }

  async runAudit(x: Float32Array): Promise<{ output: Float32Array; features: Float32Array[] }> {
    const s = await this.auditSession();
    const r = s.run({ [this.analysis.inputName]: this.inputTensor(x) });
    return { output: r[this.analysis.outputName]!.data as Float32Array, features: this.cuts.map((c) => r[pooledName(c.tensor)]!.data as Float32Array) };
  }

  /**
   * Runs one segment; `next` feeds the following segment, `pooled[i]` holds the features of every
   * cut i the segment passed (pooledIn), `output` the model's output when `to` is the end.
   */
  async runSegment(from: number, to: number, input: Tensor, lean = false): Promise<{ next: Tensor; pooled: Map<number, Float32Array>; output?: Float32Array; probs?: Float32Array }> {
    const s = await this.segmentSession(from, to, lean);
    const r = s.run({ [this.entry(from).name]: input });
    const pooled = new Map(this.pooledIn(from, to, lean).map((i) => [i, r[pooledName(this.cuts[i]!.tensor)]!.data as Float32Array]));
    if (to >= this.cuts.length) {
      const out = r[this.analysis.outputName]!;
      return { next: out, pooled, output: out.data as Float32Array };
    }
    const t = this.cuts[to]!.tensor;
    return { next: r[t]!, pooled, probs: this.heads.has(to) ? (r[probsName(t)]!.data as Float32Array) : undefined };
  }

  /** FLOPs of the original graph between two points (batch 1) */
  flopsBetween(from: number, to: number): number {
    const at = (p: number) => (p < 0 ? 0 : p >= this.cuts.length ? this.analysis.totalFlops : this.cuts[p]!.flopsBefore);
    return at(to) - at(from);
  }

  /** FLOPs of pooling the features of the cuts a segment passes */
  segmentPoolFlops(from: number, to: number, lean = false): number {
    return this.pooledIn(from, to, lean).reduce((a, i) => a + this.poolFlops(i), 0);
  }

  /** FLOPs of pooling the features at cut i (average + max over the map) */
  poolFlops(i: number): number {
    const s = this.cuts[i]!.shape;
    return 2 * s.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Creates every session the cache engine may use, so none is created on a request's path. */
  async warm(sample: Float32Array): Promise<void> {
    this.classes = (await this.runFull(sample)).length;
    await this.runAudit(sample);
    const C = this.cuts.length;
    for (let a = -1; a < C; a++) for (let b = a + 1; b <= C; b++) await this.segmentSession(a, b);
  }

  /**
   * Times the full model, the audit model and each fine block on real inputs: `rounds` interleaved
   * rounds of `perRound` runs each; the figure is the lowest round median (see reports/profile.md).
   */
  async profileCosts(samples: Float32Array[], o: { rounds?: number; perRound?: number } = {}): Promise<SegmentCosts> {
    const rounds = o.rounds ?? 5;
    const perRound = o.perRound ?? 20;
    const C = this.cuts.length;
    const timers: Array<() => Promise<void>> = [];
    const time = async (fn: () => Promise<unknown>) => {
      const t = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    let k = 0;
    const pick = () => samples[k++ % samples.length]!;
    const inputsAt = async (x: Float32Array): Promise<Tensor[]> => {
      const ins: Tensor[] = [this.inputTensor(x)];
      for (let i = 0; i < C; i++) ins.push((await this.runSegment(i - 1, i, ins[i]!)).next);
      return ins;
    };
    const chains = await Promise.all(samples.slice(0, 8).map(inputsAt));
    const roundMedians: number[][] = Array.from({ length: C + 3 }, () => []);
    timers.push(async () => void (await this.runFull(pick())));
    timers.push(async () => void (await this.runAudit(pick())));
    for (let i = 0; i <= C; i++) timers.push(async () => void (await this.runSegment(i - 1, i, chains[k++ % chains.length]![i]!)));
    for (const t of timers) for (let w = 0; w < 10; w++) await t();
    for (let r = 0; r < rounds; r++) {
      for (const [j, t] of timers.entries()) {
        const xs: number[] = [];
        for (let n = 0; n < perRound; n++) xs.push(await time(t));
        roundMedians[j]!.push(median(xs));
      }
    }
    const best = roundMedians.map((m) => Math.min(...m));
    const full = best[0]!;
    const fine = best.slice(2);
    const splitOverhead = Math.max(0, (fine.reduce((a, b) => a + b, 0) - full) / Math.max(1, C));
    return { full, audit: best[1]!, fine, splitOverhead };
  }

  async dispose(): Promise<void> {
    for (const s of [...this.sessions.values(), ...this.retired]) (await s).release();
    this.sessions.clear();
    this.retired = [];
  }
}

/**
 * A segment (from → to); `lean`: it outputs only its end cut's pooled features (the ones its head
 * reads) instead of every cut's it passes — pooling a cut costs ~12 µs in situ on the Fashion-MNIST
 * backbone, as much as a split.
 */
export type SegmentRef = [from: number, to: number, lean?: boolean];

const LEAN = '~lean';

/** session key of a segment: its ends, the version of the head compiled into it, lean or not */
function segmentKey(heads: ReadonlyMap<number, { version: number }>, from: number, to: number, lean = false): string {
  const h = heads.get(to);
  return (h ? `${from}->${to}#${h.version}` : `${from}->${to}`) + (lean ? LEAN : '');
}

/** Estimated time of the merged segment (from → to) from the fine-block profile. */
export function segmentCost(c: SegmentCosts, from: number, to: number): number {
  let t = 0;
  for (let i = from + 1; i <= to; i++) t += c.fine[i]!;
  return t - (to - from - 1) * c.splitOverhead;
}
