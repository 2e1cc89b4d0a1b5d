import onnxProto from 'onnx-proto';
import { graphOf, type ModelProto, type NodeProto } from '../ir/onnx-load.js';
import { pooledName, probsName, segmentParts, type CompiledHead, type CutPoint, type GraphAnalysis } from './onnx-graph.js';

const { onnx } = onnxProto;

/**
 * A whole cascade as ONE onnxruntime graph: the exit decisions are ONNX `If` nodes, so a request
 * runs a single session instead of one per segment. Each split of the segmented path is its own
 * session run with its own fixed cost (~0.1 ms in situ on the Fashion-MNIST backbone, against
 * 0.4 ms for the whole model); here the only extra cost of a cache is its head.
 *
 * For stages j = 0..n−1 (a cache at cut `at`, its head, and whether it may skip to the end):
 *   segment → head j → conf = max prob → If conf ≥ th_j: answer probs_j
 *                                        else If skips and conf < skip_j: rest of the model
 *                                        else the next stage (after the last: rest of the model)
 * Thresholds are scalar inputs (`thresholdInput(j)`, `skipInput(j)`): a re-plan that keeps the
 * caches changes them without a new session.
 *
 * Outputs: `CASCADE_OUT` [1, classes] — the exiting head's probabilities, or the model's own output
 * at the end; `CASCADE_EXIT` int64 [1] — j for an exit at stage j, n for the end through every
 * stage, n + 1 + j for a skip to the end from stage j; and the pooled features of every cut
 * (`pooledName`), empty [1, 0] for cuts the request never reached.
 */
export const CASCADE_OUT = 'cascade::out';
export const CASCADE_EXIT = 'cascade::exit';
export const thresholdInput = (j: number) => `cascade::th${j}`;
export const skipInput = (j: number) => `cascade::skip${j}`;

export interface FusedStage {
  /** cut index */
  at: number;
  head: CompiledHead;
  /** the stage may send an unsure request straight to the end (not for the last stage) */
  skips: boolean;
}

export function cascadeGraph(model: ModelProto, a: GraphAnalysis, cuts: CutPoint[], stages: FusedStage[], gridOf: (c: CutPoint) => number): Uint8Array {
  if (!stages.length) throw new Error('a fused cascade needs at least one stage');
  for (let j = 1; j < stages.length; j++) if (!(stages[j]!.at > stages[j - 1]!.at)) throw new Error('stages must follow the cut order');
  const g = graphOf(model);
  const C = cuts.length;
  const n = stages.length;
  let uid = 0;
  const f = onnx.TensorProto.DataType.FLOAT;
  const info = (name: string, elemType: number) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } });
  const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []) =>
    onnx.NodeProto.create({ name: `cascade::${opType}::${uid++}`, opType, input, output, attribute });
  const constant = (out: string, t: onnxProto.onnx.ITensorProto) => node('Constant', [], [out], [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t }]);
  const exitCode = (out: string, code: number) => constant(out, onnx.TensorProto.create({ dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [code] }));
  const empty = (out: string) => constant(out, onnx.TensorProto.create({ dims: [1, 0], dataType: f, floatData: [] }));
  /** logical outputs of a level from point `from`: out, exit, and the pooled features of cuts (from, C) */
  const logical = (from: number) => ['out', 'exit', ...Array.from({ length: C - from - 1 }, (_, k) => `pooled:${from + 1 + k}`)];

  /**
   * The nodes computing a level's logical outputs, named `names(logical)`. `env` maps original
   * tensor names computed in enclosing levels to their names there; every tensor this level
   * computes gets a suffix unique to it, so sibling branches never define the same name.
   */
  type Level = { nodes: NodeProto[]; inits: onnxProto.onnx.ITensorProto[] };
  const level = (j: number, from: number, env: ReadonlyMap<string, string>, names: (l: string) => string, declared: ReadonlySet<string>, skipCode?: number): Level => {
    const sfx = `@${uid++}`;
    const local = new Map(env);
    const out: NodeProto[] = [];
    // a branch holds its own weights: onnxruntime pre-packs a graph's own initializers, and weights
    // read from an enclosing graph were measured to slow the branch's convolutions down
    const own: onnxProto.onnx.ITensorProto[] = [];
    const scope = new Set(declared);
    const to = skipCode !== undefined || j >= n ? C : stages[j]!.at;
    const pooledCuts = Array.from({ length: Math.min(to, C - 1) - from }, (_, k) => from + 1 + k);
    const parts = segmentParts(model, a, from < 0 ? null : cuts[from]!, to >= C ? null : cuts[to]!, pooledCuts.map((i) => cuts[i]!), gridOf, to < C ? stages[j]!.head : undefined);
    for (const t of parts.initializers) {
      if (scope.has(t.name!)) continue;
      scope.add(t.name!);
      own.push(t);
    }
    for (const nd of parts.nodes) {
      const input = (nd.input ?? []).map((x) => local.get(x) ?? x);
      const output = (nd.output ?? []).map((x) => {
        const renamed = `${x}${sfx}`;
        local.set(x, renamed);
        return renamed;
      });
      out.push(onnx.NodeProto.create({ ...nd, name: `${nd.name ?? nd.opType}${sfx}`, input, output }));
    }
    const bind = (l: string, actual: string) => out.push(node('Identity', [actual], [names(l)]));
    for (const i of pooledCuts) bind(`pooled:${i}`, local.get(pooledName(cuts[i]!.tensor))!);
    if (to >= C) {
      bind('out', local.get(a.outputName)!);
      out.push(exitCode(names('exit'), skipCode ?? n));
      return { nodes: out, inits: own };
    }
    // a stage: decide on the head's confidence
    const st = stages[j]!;
    const probs = local.get(probsName(cuts[st.at]!.tensor))!;
    const conf = `conf${sfx}`;
    out.push(node('ReduceMax', [probs], [conf], [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]));
    out.push(node('Less', [conf, thresholdInput(j)], [`unsure${sfx}`]));
    out.push(node('Not', [`unsure${sfx}`], [`exits${sfx}`]));
    const rest = logical(st.at);
    const branch = (body: Level, bn: (l: string) => string) =>
      onnx.GraphProto.create({ name: `branch${uid++}`, node: body.nodes, initializer: body.inits, output: rest.map((l) => info(bn(l), l === 'exit' ? onnx.TensorProto.DataType.INT64 : f)) });
    // then: the head answers; the cuts after it were never reached
    const thenNames = (l: string) => `${l}${sfx}:then`;
    const thenNodes: NodeProto[] = [node('Identity', [probs], [thenNames('out')]), exitCode(thenNames('exit'), j)];
    for (const l of rest) if (l.startsWith('pooled:')) thenNodes.push(empty(thenNames(l)));
    // else: the next stage, or straight to the end when this stage is very unsure
    const elseNames = (l: string) => `${l}${sfx}:else`;
    const next = (bn: (l: string) => string, code?: number) => level(j + 1, st.at, local, bn, scope, code);
    let elseBody: Level;
    if (st.skips && j < n - 1) {
      const skipNames = (l: string) => `${l}${sfx}:skip`;
      const onNames = (l: string) => `${l}${sfx}:on`;
      elseBody = { inits: [], nodes: [
        node('Less', [conf, skipInput(j)], [`skips${sfx}`]),
        node('If', [`skips${sfx}`], rest.map(elseNames), [
          { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(next(skipNames, n + 1 + j), skipNames) },
          { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(next(onNames), onNames) },
        ]),
      ] };
    } else {
      elseBody = next(elseNames);
    }
    out.push(
      node('If', [`exits${sfx}`], rest.map(names), [
        { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch({ nodes: thenNodes, inits: [] }, thenNames) },
        { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(elseBody, elseNames) },
      ]),
    );
    return { nodes: out, inits: own };
  };

  const finalName = (l: string) => (l === 'out' ? CASCADE_OUT : l === 'exit' ? CASCADE_EXIT : pooledName(cuts[Number(l.slice(7))]!.tensor));
  const top = level(0, -1, new Map(), finalName, new Set());
  const scalar = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: f, shape: { dim: [] } } } });
  const graph = onnx.GraphProto.create({
    name: `${g.name ?? 'graph'}[cascade ${stages.map((s) => s.at).join(',')}]`,
    node: top.nodes,
    input: [g.input.find((i) => i.name === a.inputName)!, ...stages.map((_, j) => scalar(thresholdInput(j))), ...stages.flatMap((s, j) => (s.skips && j < n - 1 ? [scalar(skipInput(j))] : []))],
    output: logical(-1).map((l) => info(finalName(l), l === 'exit' ? onnx.TensorProto.DataType.INT64 : f)),
    initializer: top.inits,
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: model.irVersion, opsetImport: model.opsetImport, producerName: 'latencylab-earlyexit', graph })).finish();
}
