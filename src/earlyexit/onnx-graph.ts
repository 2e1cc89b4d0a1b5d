import type { HeadSnapshot } from './head-model.js';
import { headForwardNodes } from './head-train-graph.js';
import onnxProto from 'onnx-proto';
import { declaredInput, graphOf, int64, loadOnnxModel, type ModelProto, type NodeProto } from '../ir/onnx-load.js';
import { UserError } from '../util/errors.js';

const { onnx } = onnxProto;

/**
 * Reading, analysing and cutting an existing (third-party) ONNX classifier.
 *
 * Intermediate tensors are exposed by editing the graph: a *cut point* is a tensor through which
 * every path from the input to the output passes (the only activation alive at that point of the
 * topological order), so the model splits there into two segments that run one after the other.
 * Each segment is a new ModelProto holding the nodes it needs; a segment that ends at a cut point
 * also outputs the pooled features a cache head reads: average pooling over a grid×grid layout of
 * the map (grid 1 = global average) ⊕ global max pooling.
 */

export interface CutPoint {
  /** tensor name in the original graph */
  tensor: string;
  /** shape at batch 1, e.g. [1, 64, 14, 14] */
  shape: number[];
  /** FLOPs of the original graph up to and including this tensor (batch 1) */
  flopsBefore: number;
  /** channels of the tensor; the pooled feature vector has (grid² + 1) × channels values */
  channels: number;
}

export interface GraphAnalysis {
  inputName: string;
  /** batch-1 input shape used for the analysis */
  inputShape: number[];
  outputName: string;
  /** FLOPs of the whole graph (batch 1); a MAC counts as 2 FLOPs */
  totalFlops: number;
  /** every articulation tensor that feeds a convolution or pooling, in graph order */
  allCuts: CutPoint[];
  /** true when the graph already ends in a Softmax (outputs are probabilities, not logits) */
  outputIsProbability: boolean;
}

/** Loads a model through the shared loader and checks that it is a one-input, one-output classifier. */
export function loadClassifier(path: string): ModelProto {
  return checkClassifier(loadOnnxModel(path), path);
}

export function checkClassifier(model: ModelProto, where: string): ModelProto {
  const g = graphOf(model);
  const inits = new Set(g.initializer.map((t) => t.name ?? ''));
  const inputs = g.input.filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1) throw new UserError(`expected a classifier with exactly one input tensor, found ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`, `${where}: graph.input`);
  if (g.output.length !== 1) throw new UserError(`expected a classifier with exactly one output tensor, found ${g.output.length}`, `${where}: graph.output`);
  return model;
}

/** Names of tensors that are constant (initializers, Constant nodes, and anything computed only from them). */
function staticTensors(model: ModelProto): Set<string> {
  const g = graphOf(model);
  const s = new Set<string>(g.initializer.map((t) => t.name!));
  for (const n of g.node) {
    const ins = (n.input ?? []).filter((t) => t !== '');
    if (ins.every((t) => s.has(t))) for (const o of n.output ?? []) s.add(o);
  }
  return s;
}

function staticDims(model: ModelProto, name: string): number[] | undefined {
  const g = graphOf(model);
  const init = g.initializer.find((t) => t.name === name);
  if (init) return (init.dims ?? []).map(int64);
  const c = g.node.find((n) => n.opType === 'Constant' && n.output?.[0] === name);
  const v = c?.attribute?.find((a) => a.name === 'value')?.t;
  return v ? v.dims!.map(int64) : undefined;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** FLOPs of one node from the probed shapes (2 per MAC for Conv/Gemm/MatMul, 1 per output element otherwise). */
function nodeFlops(model: ModelProto, n: NodeProto, shapes: Map<string, number[]>): number {
  const out = shapes.get(n.output?.[0] ?? '');
  if (!out) return 0;
  const outElems = prod(out);
  if (n.opType === 'Conv') {
    const w = staticDims(model, n.input![1]!) ?? shapes.get(n.input![1]!);
    if (!w) return outElems;
    return 2 * outElems * prod(w.slice(1)); // w = [Cout, Cin/group, kh, kw]
  }
  if (n.opType === 'Gemm' || n.opType === 'MatMul') {
    const a = shapes.get(n.input![0]!) ?? staticDims(model, n.input![0]!);
    const transA = n.attribute?.find((x) => x.name === 'transA')?.i;
    const k = a ? (n.opType === 'Gemm' && Number(transA ?? 0) === 1 ? a[0]! : a[a.length - 1]!) : 1;
    return 2 * outElems * k;
  }
  if (n.opType === 'Constant' || n.opType === 'Shape' || n.opType === 'Reshape' || n.opType === 'Flatten') return 0;
  return outElems;
}

type Ort = typeof import('onnxruntime-node');

/**
 * Runs the model once with every activation tensor exposed as an output, to learn the shapes
 * (works for models whose value_info is incomplete, as exported models often are).
 */
async function probeShapes(ort: Ort, model: ModelProto, inputShape: number[]): Promise<Map<string, number[]>> {
  const g = graphOf(model);
  const stat = staticTensors(model);
  const names = [...new Set(g.node.flatMap((n) => n.output ?? []).filter((t) => !stat.has(t)))];
  const probe = onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, output: names.map((name) => onnx.ValueInfoProto.create({ name })) }) });
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(onnx.ModelProto.encode(probe).finish(), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  } catch (e) {
    throw new UserError(`onnxruntime cannot load this model: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const { name } = declaredInput(model);
    const r = await session.run({ [name]: new ort.Tensor('float32', new Float32Array(prod(inputShape)), inputShape) });
    const shapes = new Map<string, number[]>([[name, inputShape]]);
    for (const [k, v] of Object.entries(r)) shapes.set(k, [...v.dims]);
    return shapes;
  } catch (e) {
    throw new UserError(`model does not run on input shape [${inputShape.join(',')}]: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await session.release();
  }
}

const CUT_CONSUMERS = new Set(['Conv', 'MaxPool', 'AveragePool']);

/** Finds the cut points of a single-input classifier and the FLOPs before each. */
export async function analyseGraph(ort: Ort, model: ModelProto, inputShape: number[]): Promise<GraphAnalysis> {
  const g = graphOf(model);
  const shapes = await probeShapes(ort, model, inputShape);
  const stat = staticTensors(model);
  const inputName = declaredInput(model).name;
  const outputName = g.output[0]!.name!;
  const lastUse = new Map<string, number>();
  const consumers = new Map<string, string[]>();
  g.node.forEach((n, i) => {
    for (const t of n.input ?? []) {
      if (t === '' || stat.has(t)) continue;
      lastUse.set(t, i);
      consumers.set(t, [...(consumers.get(t) ?? []), n.opType!]);
    }
  });
  lastUse.set(outputName, Infinity);
  const live = new Set<string>([inputName]);
  let flops = 0;
  const allCuts: CutPoint[] = [];
  g.node.forEach((n, i) => {
    flops += nodeFlops(model, n, shapes);
    for (const o of n.output ?? []) if (!stat.has(o)) live.add(o);
    for (const t of [...live]) if ((lastUse.get(t) ?? -1) <= i) live.delete(t);
    if (live.size !== 1) return;
    const [t] = [...live] as [string];
    const shape = shapes.get(t);
    const uses = consumers.get(t) ?? [];
    if (!shape || shape.length !== 4 || t === inputName || !uses.length || !uses.every((u) => CUT_CONSUMERS.has(u))) return;
    if (allCuts.some((c) => c.tensor === t)) return;
    // a pooling right after an activation adds (almost) no compute: keep the later, smaller tensor
    const prev = allCuts[allCuts.length - 1];
    if (prev && flops - prev.flopsBefore < 0.01 * flops) allCuts.pop();
    allCuts.push({ tensor: t, shape, flopsBefore: flops, channels: shape[1]! });
  });
  const lastOp = g.node.find((n) => n.output?.includes(outputName))?.opType;
  return { inputName, inputShape, outputName, totalFlops: flops, allCuts, outputIsProbability: lastOp === 'Softmax' };
}

/**
 * Chooses up to `max` cut points spread evenly over the FLOPs (candidates for caches), skipping
 * those in the first/last 5 % of the compute where a cache cannot pay off.
 */
export function spreadCuts(a: GraphAnalysis, max: number): CutPoint[] {
  const usable = a.allCuts.filter((c) => c.flopsBefore > 0.05 * a.totalFlops && c.flopsBefore < 0.95 * a.totalFlops);
  if (usable.length <= max) return usable;
  const chosen = new Set<CutPoint>();
  for (let k = 1; k <= max; k++) {
    const target = (k / (max + 1)) * a.totalFlops;
    const free = usable.filter((c) => !chosen.has(c));
    chosen.add(free.reduce((best, c) => (Math.abs(c.flopsBefore - target) < Math.abs(best.flopsBefore - target) ? c : best)));
  }
  return usable.filter((c) => chosen.has(c));
}

/** Picks named cut tensors, with an error naming valid choices for any that cannot be a cut. */
export function namedCuts(a: GraphAnalysis, names: string[], where: string): CutPoint[] {
  const cuts = names.map((name) => {
    const c = a.allCuts.find((x) => x.tensor === name);
    if (!c) throw new UserError(`"${name}" is not a cut point of this graph (every path from input to output must pass through it); valid: ${a.allCuts.map((x) => x.tensor).join(', ')}`, where);
    return c;
  });
  return cuts.sort((x, y) => x.flopsBefore - y.flopsBefore);
}

export const pooledName = (tensor: string) => `${tensor}::pooled`;
/** output of a cache head compiled into a segment: the class probabilities at a cut */
export const probsName = (tensor: string) => `${tensor}::probs`;

/** A trained cache head's weights with its shape, row-major: w1 is in×hidden, w2 hidden×classes. */
export interface CompiledHead extends HeadSnapshot {
  inDim: number;
  hidden: number;
  classes: number;
}

/** Average-pool kernel and stride giving a grid×grid output on an N×C×H×W map (windows may overlap). */
export function gridPooling(shape: number[], grid: number): { kernel: number[]; stride: number[]; cells: number } {
  const axis = (n: number) => {
    const g = Math.min(grid, n);
    const k = Math.ceil(n / g);
    const s = g > 1 ? Math.floor((n - k) / (g - 1)) : 1;
    return { k, s: Math.max(1, s), out: g > 1 ? Math.floor((n - k) / Math.max(1, s)) + 1 : 1 };
  };
  const h = axis(shape[2]!);
  const w = axis(shape[3]!);
  return { kernel: [h.k, w.k], stride: [h.s, w.s], cells: h.out * w.out };
}

/** length of the pooled feature vector at a cut for a given grid */
export const featureDim = (c: CutPoint, grid: number) => (gridPooling(c.shape, grid).cells + 1) * c.channels;

/**
 * The grid for a cut: the largest ≤ `grid` whose feature vector stays within `maxFeatures` (wide
 * late layers get coarser pooling). The bound is on training time and head memory — the head runs
 * inside the ONNX segment, so its inference cost hardly grows with its input.
 */
export function gridFor(c: CutPoint, grid: number, maxFeatures: number): number {
  for (let g = grid; g > 1; g--) if (featureDim(c, g) <= maxFeatures) return g;
  return 1;
}

/**
 * A ModelProto computing `to` (a cut tensor, or the graph output when null) from `from` (a cut
 * tensor, or the graph input when null), plus the pooled features of every tensor in `pooled`.
 */
export function extractSegment(...args: Parameters<typeof segmentParts>): Uint8Array {
  const [model, a, from, to, pooled, gridOf = () => 1, head] = args;
  const g = graphOf(model);
  const { nodes, initializers, source, target } = segmentParts(...args);
  const floatInfo = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
  const input = from ? floatInfo(source, ['N', ...from.shape.slice(1)]) : g.input.find((i) => i.name === a.inputName)!;
  const outputs = [to ? floatInfo(target, ['N', ...to.shape.slice(1)]) : g.output[0]!, ...pooled.map((p) => floatInfo(pooledName(p.tensor), ['N', featureDim(p, gridOf(p))]))];
  if (head && to) outputs.push(floatInfo(probsName(to.tensor), ['N', head.classes]));
  const graph = onnx.GraphProto.create({ name: `${g.name ?? 'graph'}[${source}→${target}]`, node: nodes, input: [input], output: outputs, initializer: initializers });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: model.irVersion, opsetImport: model.opsetImport, producerName: 'latencylab-earlyexit', graph })).finish();
}

/**
 * The nodes and initializers of a segment (see extractSegment): the original nodes it needs, the
 * pooling of `pooled`, and the cache head compiled in at `to` (output `probsName(to)`).
 */
export function segmentParts(
  model: ModelProto,
  a: GraphAnalysis,
  from: CutPoint | null,
  to: CutPoint | null,
  pooled: CutPoint[],
  gridOf: (c: CutPoint) => number = () => 1,
  head?: CompiledHead,
): { nodes: NodeProto[]; initializers: onnxProto.onnx.ITensorProto[]; source: string; target: string } {
  const g = graphOf(model);
  const source = from?.tensor ?? a.inputName;
  const target = to?.tensor ?? a.outputName;
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const inits = new Map(g.initializer.map((t) => [t.name!, t]));
  const keep = new Set<number>();
  const usedInits = new Set<string>();
  const stack = [target, ...pooled.map((p) => p.tensor)];
  const seen = new Set<string>();
  while (stack.length) {
    const t = stack.pop()!;
    if (t === '' || t === source || seen.has(t)) continue;
    seen.add(t);
    if (inits.has(t)) {
      usedInits.add(t);
      continue;
    }
    const p = producer.get(t);
    if (p === undefined) throw new UserError(`cannot cut the graph between "${source}" and "${target}": tensor "${t}" is needed but comes from before the cut`);
    keep.add(p);
    stack.push(...(g.node[p]!.input ?? []));
  }
  const nodes = g.node.filter((_, i) => keep.has(i));
  const extra: NodeProto[] = [];
  const int = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  for (const p of pooled) {
    const t = p.tensor;
    const grid = gridOf(p);
    const { kernel, stride } = gridPooling(p.shape, grid);
    const parts = [`${t}::gmp`];
    extra.push(onnx.NodeProto.create({ name: `${t}::gmp`, opType: 'GlobalMaxPool', input: [t], output: [`${t}::gmp`] }));
    if (grid > 1) {
      extra.push(
        onnx.NodeProto.create({ name: `${t}::grid`, opType: 'AveragePool', input: [t], output: [`${t}::grid`], attribute: [ints('kernel_shape', kernel), ints('strides', stride)] }),
        onnx.NodeProto.create({ name: `${t}::gridflat`, opType: 'Flatten', input: [`${t}::grid`], output: [`${t}::gridflat`], attribute: [int('axis', 1)] }),
      );
    } else {
      extra.push(onnx.NodeProto.create({ name: `${t}::grid`, opType: 'GlobalAveragePool', input: [t], output: [`${t}::grid`] }));
      extra.push(onnx.NodeProto.create({ name: `${t}::gridflat`, opType: 'Flatten', input: [`${t}::grid`], output: [`${t}::gridflat`], attribute: [int('axis', 1)] }));
    }
    extra.push(
      onnx.NodeProto.create({ name: `${t}::gmpflat`, opType: 'Flatten', input: parts, output: [`${t}::gmpflat`], attribute: [int('axis', 1)] }),
      onnx.NodeProto.create({ name: `${t}::cat`, opType: 'Concat', input: [`${t}::gridflat`, `${t}::gmpflat`], output: [pooledName(t)], attribute: [int('axis', 1)] }),
    );
  }
  const headInits: onnxProto.onnx.ITensorProto[] = [];
  if (head && to) {
    // the cache head runs inside the segment (standardise → dense → ReLU → dense → softmax): one
    // session run answers "exit or not" without a round trip to JS (measured: a 320→96→10 head in
    // plain JS cost ~0.05 ms per cache on the request path, ORT does it in microseconds)
    const t = to.tensor;
    const n = (k: string) => `${t}::head::${k}`;
    const f32 = (name: string, dims: number[], data: Float32Array) =>
      headInits.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }));
    f32(n('mean'), [head.inDim], head.mean);
    f32(n('invStd'), [head.inDim], head.invStd);
    f32(n('w1'), [head.inDim, head.hidden], head.w1);
    f32(n('b1'), [head.hidden], head.b1);
    f32(n('w2'), [head.hidden, head.classes], head.w2);
    f32(n('b2'), [head.classes], head.b2);
    extra.push(...headForwardNodes(pooledName(t), probsName(t), n));
  }
  return { nodes: [...nodes, ...extra], initializers: [...g.initializer.filter((t) => usedInits.has(t.name!)), ...headInits], source, target };
}
