import onnxProto from 'onnx-proto';
import { UserError } from '../util/errors.js';
import { broadcast, type AttrValue } from './graph.js';
import { applyShapeRule, matmulShape } from './shape-rules.js';
import { dataInputs, graphOf, int64, opsetOf, resolveShape, tensorValues, type InputOverrides, type ModelProto, type NodeProto } from './onnx-load.js';

/**
 * Static shape inference over an ONNX graph, without running it: every tensor's shape from the
 * input shapes, the initializers and the op semantics (opsets 7–21, both the attribute and the
 * input forms of Slice, Squeeze, Reduce and Split). Shape-computing subgraphs (Shape → Gather →
 * Concat → Reshape, as exporters write them) are folded on small integer values along the way.
 *
 * It is what makes whole-model prediction cheap: no session is created, so predicting a model
 * takes milliseconds where measuring it takes seconds.
 */
const { onnx } = onnxProto;

export interface ImportedNode {
  /** index in the graph's node list */
  index: number;
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface ImportedModel {
  name: string;
  opset: number;
  inputs: Array<{ name: string; shape: number[]; elemType: number }>;
  outputs: string[];
  nodes: ImportedNode[];
  /** shape of every tensor the graph produces or reads */
  shapes: Map<string, number[]>;
  /** initializer (and Constant) tensors: weights, by name */
  constants: Set<string>;
  /** folded values of small integer/float tensors (shape arithmetic) */
  values: Map<string, number[]>;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** values worth folding: shape arithmetic, never weights */
const MAX_FOLD = 64;

function attrsOf(n: NodeProto): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  const A = onnx.AttributeProto.AttributeType;
  for (const a of n.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case A.INT: out[name] = int64(a.i); break;
      case A.FLOAT: out[name] = a.f ?? 0; break;
      case A.INTS: out[name] = (a.ints ?? []).map(int64); break;
      case A.FLOATS: out[name] = [...(a.floats ?? [])]; break;
      case A.STRING: out[name] = new TextDecoder().decode(a.s ?? new Uint8Array()); break;
      default: break; // tensors (Constant's value) are read separately
    }
  }
  return out;
}

/**
 * Infers all shapes. `given` fills inputs with dynamic dims: whole shapes by input name (the first
 * input under the key ''), symbolic dims by name; a dynamic dim left open is an error saying how
 * to fill it, and a name that matches no input or symbolic dim is refused (a typo would
 * otherwise go unnoticed).
 */
export function importOnnx(model: ModelProto, given: InputOverrides = {}, where = 'model'): ImportedModel {
  const g = graphOf(model);
  const shapes = new Map<string, number[]>();
  const values = new Map<string, number[]>();
  const constants = new Set<string>();
  for (const t of g.initializer) {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(int64);
    shapes.set(name, dims);
    constants.add(name);
    if (numel(dims) <= MAX_FOLD) {
      const v = tensorValues(t);
      if (v) values.set(name, v);
    }
  }
  const declared = dataInputs(model);
  const byName = given.shapes ?? {};
  const dimValues = given.dims ?? {};
  const unknownInput = Object.keys(byName).find((n) => n !== '' && !declared.some((d) => d.name === n));
  if (unknownInput !== undefined) throw new UserError(`the model has no input "${unknownInput}" (its inputs: ${declared.map((d) => d.name).join(', ')})`, '--input-shape');
  const symbols = new Set(declared.flatMap((d) => d.dimNames.filter((x): x is string => x !== undefined)));
  const unknownDim = Object.keys(dimValues).find((n) => !symbols.has(n));
  if (unknownDim !== undefined) throw new UserError(`no input dim is named "${unknownDim}" (${symbols.size ? `the model's symbolic dims: ${[...symbols].join(', ')}` : 'the model has no symbolic dims'})`, '--dim');
  const inputs = declared.map((inp, i) => {
    const override = byName[inp.name] ?? (i === 0 ? byName[''] : undefined);
    const shape = resolveShape(inp.name, inp.dims, override, where, { names: inp.dimNames, values: dimValues });
    shapes.set(inp.name, shape);
    return { name: inp.name, shape, elemType: inp.elemType };
  });
  const nodes: ImportedNode[] = [];
  const opset = opsetOf(model);
  g.node.forEach((n, index) => {
    const node: ImportedNode = {
      index,
      name: n.name || `${n.opType}_${index}`,
      op: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: attrsOf(n),
    };
    nodes.push(node);
    try {
      inferNode(node, n, { shapes, values, constants, opset });
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot infer the output shape of node ${index} "${node.name}" (${node.op}): ${(e as Error).message}`, `${where}: graph.node[${index}]`);
    }
    for (const o of node.outputs) {
      if (o === '') continue;
      const s = shapes.get(o);
      if (!s) {
        throw new UserError(`cannot infer the output shape of node ${index} "${node.name}" (${node.op}${node.domain ? ` in domain ${node.domain}` : ''}): op not supported by latencylab's shape inference`, `${where}: graph.node[${index}]`);
      }
      // attributes out of their range (a negative pad, k beyond the axis, …) must not pass on as garbage
      if (!s.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new UserError(`node ${index} "${node.name}" (${node.op}) gives output "${o}" the shape [${s.join(', ')}]: its attributes or inputs are out of range`, `${where}: graph.node[${index}]`);
      }
    }
  });
  return { name: g.name ?? 'model', opset, inputs, outputs: g.output.map((o) => o.name ?? ''), nodes, shapes, constants, values };
}

interface Ctx {
  shapes: Map<string, number[]>;
  values: Map<string, number[]>;
  constants: Set<string>;
  opset: number;
}

/** shape-preserving ops whose small values are carried through (shape arithmetic); the other shape-preserving ops are shape-rules.ts' */
const VALUE_PASSING = new Set(['Cast', 'Identity', 'Sqrt']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Mod', 'Where', 'Sum', 'Mean']);
const FOLD: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b),
  Max: Math.max, Min: Math.min, Equal: (a, b) => Number(a === b), Pow: (a, b) => a ** b,
};

function inferNode(node: ImportedNode, n: NodeProto, c: Ctx): void {
  const { op, attrs } = node;
  const shapeOf = (i: number) => {
    const s = c.shapes.get(node.inputs[i] ?? '');
    if (!s) throw new Error(`input ${i} "${node.inputs[i]}" has no known shape`);
    return s;
  };
  const valueOf = (i: number) => (node.inputs[i] ? c.values.get(node.inputs[i]!) : undefined);
  const has = (i: number) => (node.inputs[i] ?? '') !== '';
  const set = (shape: number[], value?: number[], k = 0) => {
    if (!node.outputs[k]) return; // an optional output left unnamed
    c.shapes.set(node.outputs[k]!, shape);
    if (value && value.length <= MAX_FOLD) c.values.set(node.outputs[k]!, value);
  };
  const ints = (name: string) => attrs[name] as number[] | undefined;
  const int = (name: string, d: number) => (attrs[name] as number | undefined) ?? d;
  const axisOf = (a: number, r: number) => (a < 0 ? a + r : a);

  if (op === 'Constant') {
    const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
    if (t) {
      const dims = (t.dims ?? []).map(int64);
      c.constants.add(node.outputs[0]!);
      return set(dims, numel(dims) <= MAX_FOLD ? tensorValues(t) : undefined);
    }
    const vi = attrs.value_int ?? attrs.value_float;
    if (typeof vi === 'number') return set([], [vi]);
    const vs = (attrs.value_ints ?? attrs.value_floats) as number[] | undefined;
    if (vs) return set([vs.length], vs);
    throw new Error('Constant without a supported value attribute');
  }
  if (VALUE_PASSING.has(op)) {
    const v = valueOf(0);
    return set(shapeOf(0), op === 'Sqrt' ? v?.map(Math.sqrt) : v);
  }
  if (BINARY.has(op)) {
    const ins = node.inputs.map((_, i) => shapeOf(i));
    const s = ins.reduce((a, b) => broadcast(a, b, op));
    const [va, vb] = [valueOf(0), valueOf(1)];
    const f = FOLD[op];
    let v: number[] | undefined;
    if (f && va && vb && node.inputs.length === 2) {
      const len = Math.max(va.length, vb.length);
      v = Array.from({ length: len }, (_, i) => f(va[va.length === 1 ? 0 : i]!, vb[vb.length === 1 ? 0 : i]!));
    }
    return set(s, v);
  }
  switch (op) {
    case 'GlobalAveragePool':
    case 'GlobalMaxPool': {
      const x = shapeOf(0);
      return set([x[0]!, x[1]!, ...x.slice(2).map(() => 1)]);
    }
    case 'Gemm': {
      const a = shapeOf(0);
      const b = shapeOf(1);
      const m = int('transA', 0) ? a[1]! : a[0]!;
      const nn = int('transB', 0) ? b[0]! : b[1]!;
      return set([m, nn]);
    }
    case 'MatMul':
      return set(matmulShape(shapeOf(0), shapeOf(1)));
    case 'Shape': {
      const s = shapeOf(0);
      const start = axisOf(int('start', 0), s.length);
      const end = attrs.end !== undefined ? axisOf(int('end', s.length), s.length) : s.length;
      const v = s.slice(start, end);
      return set([v.length], v);
    }
    case 'Size':
      return set([], [numel(shapeOf(0))]);
    case 'Reshape': {
      const x = shapeOf(0);
      const target = c.opset >= 5 && has(1) ? valueOf(1) : ints('shape');
      if (!target) throw new Error('target shape is computed at run time from values latencylab cannot fold');
      const out = target.map((d, i) => (d === 0 && int('allowzero', 0) === 0 ? x[i]! : d));
      const known = numel(out.filter((d) => d !== -1));
      const inf = out.indexOf(-1);
      if (inf >= 0) out[inf] = numel(x) / known;
      if (numel(out) !== numel(x) || !out.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`cannot reshape [${x}] to [${target}]`);
      return set(out, valueOf(0));
    }
    case 'Flatten': {
      const x = shapeOf(0);
      const a = axisOf(int('axis', 1), x.length);
      return set([numel(x.slice(0, a)), numel(x.slice(a))]);
    }
    case 'Transpose': {
      const x = shapeOf(0);
      const perm = ints('perm') ?? x.map((_, i) => x.length - 1 - i);
      return set(perm.map((p) => x[p]!));
    }
    case 'Squeeze': {
      const x = shapeOf(0);
      const axes = (c.opset >= 13 ? valueOf(1) : ints('axes'))?.map((a) => axisOf(a, x.length));
      const out = x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
      return set(out, valueOf(0));
    }
    case 'Unsqueeze': {
      const x = shapeOf(0);
      const axes = c.opset >= 13 ? valueOf(1) : ints('axes');
      if (!axes) throw new Error('axes are not constant');
      const r = x.length + axes.length;
      const norm = axes.map((a) => axisOf(a, r)).sort((p, q) => p - q);
      const out = [...x];
      for (const a of norm) out.splice(a, 0, 1);
      return set(out, valueOf(0));
    }
    case 'Concat': {
      const xs = node.inputs.map((_, i) => shapeOf(i));
      const r = xs[0]!.length;
      const a = axisOf(int('axis', 0), r);
      const out = [...xs[0]!];
      out[a] = xs.reduce((s, x) => s + (x[a] ?? 0), 0);
      const vs = node.inputs.map((_, i) => valueOf(i));
      return set(out, r === 1 && vs.every(Boolean) ? vs.flatMap((v) => v!) : undefined);
    }
    case 'Split': {
      const x = shapeOf(0);
      const a = axisOf(int('axis', 0), x.length);
      const parts = (c.opset >= 13 ? valueOf(1) : ints('split')) ?? (() => {
        const k = node.outputs.length;
        const size = Math.ceil(x[a]! / k);
        return Array.from({ length: k }, (_, i) => Math.min(size, x[a]! - i * size));
      })();
      parts.forEach((p, k) => {
        const s = [...x];
        s[a] = p;
        set(s, undefined, k);
      });
      return;
    }
    case 'Slice': {
      const x = shapeOf(0);
      const starts = c.opset >= 10 ? valueOf(1) : ints('starts');
      const ends = c.opset >= 10 ? valueOf(2) : ints('ends');
      if (!starts || !ends) throw new Error('slice bounds are not constant');
      const axes = (c.opset >= 10 ? (has(3) ? valueOf(3) : undefined) : ints('axes')) ?? starts.map((_, i) => i);
      const steps = (c.opset >= 10 && has(4) ? valueOf(4) : undefined) ?? starts.map(() => 1);
      const out = [...x];
      const v = valueOf(0);
      let folded = v;
      axes.forEach((ax, i) => {
        const a = axisOf(ax, x.length);
        const dim = x[a]!;
        const step = steps[i]!;
        const clamp = (p: number, lo: number, hi: number) => Math.min(Math.max(p < 0 ? p + dim : p, lo), hi);
        const s = step > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, -1, dim - 1);
        const e = step > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
        out[a] = Math.max(0, Math.ceil((e - s) / step));
        if (v && x.length === 1 && step === 1) folded = v.slice(s, e);
        else folded = undefined;
      });
      return set(out, folded);
    }
    case 'Gather': {
      const x = shapeOf(0);
      const idx = shapeOf(1);
      const a = axisOf(int('axis', 0), x.length);
      const out = [...x.slice(0, a), ...idx, ...x.slice(a + 1)];
      const v = valueOf(0);
      const iv = valueOf(1);
      return set(out, v && iv && x.length === 1 ? iv.map((i) => v[i < 0 ? i + v.length : i]!) : undefined);
    }
    case 'ConstantOfShape': {
      const s = valueOf(0);
      if (!s) throw new Error('shape is not constant');
      const t = (n.attribute ?? []).find((x) => x.name === 'value')?.t;
      const fill = t ? (tensorValues(t)?.[0] ?? 0) : 0;
      return set(s, numel(s) <= MAX_FOLD ? Array(numel(s)).fill(fill) : undefined);
    }
    case 'Expand': {
      const s = valueOf(1);
      if (!s) throw new Error('shape is not constant');
      return set(broadcast(shapeOf(0), s, 'Expand'));
    }
    case 'Tile': {
      const reps = valueOf(1);
      if (!reps) throw new Error('repeats are not constant');
      return set(shapeOf(0).map((d, i) => d * reps[i]!));
    }
    case 'Range': {
      const [s, l, d] = [valueOf(0), valueOf(1), valueOf(2)];
      if (!s || !l || !d) throw new Error('range bounds are not constant');
      const len = Math.max(Math.ceil((l[0]! - s[0]!) / d[0]!), 0);
      return set([len], len <= MAX_FOLD ? Array.from({ length: len }, (_, i) => s[0]! + i * d[0]!) : undefined);
    }
    case 'Resize':
    case 'Upsample': {
      const x = shapeOf(0);
      // Upsample(X, scales); Resize opset 10: (X, scales); 11+: (X, roi, scales, sizes)
      const scales = op === 'Upsample' || c.opset < 11 ? (valueOf(1) ?? ints('scales')) : has(2) ? valueOf(2) : undefined;
      const sizes = op === 'Resize' && c.opset >= 11 && has(3) ? valueOf(3) : undefined;
      if (sizes && sizes.length) return set(sizes);
      if (!scales || !scales.length) throw new Error('scales/sizes are not constant');
      return set(x.map((d, i) => Math.floor(d * scales[i]!)));
    }
    case 'Pad': {
      const x = shapeOf(0);
      const pads = c.opset >= 11 ? valueOf(1) : ints('pads');
      if (!pads) throw new Error('pads are not constant');
      return set(x.map((d, i) => d + pads[i]! + pads[i + x.length]!));
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const x = shapeOf(0);
      const b = int('blocksize', 1);
      const f = op === 'DepthToSpace';
      return set([x[0]!, f ? x[1]! / (b * b) : x[1]! * b * b, f ? x[2]! * b : x[2]! / b, f ? x[3]! * b : x[3]! / b]);
    }
    default: {
      // the ops of shape-rules.ts; one it has no rule for is reported by importOnnx with the node's name
      const str = (name: string) => (typeof attrs[name] === 'string' ? (attrs[name] as string) : undefined);
      applyShapeRule({ op, shapeOf, valueOf, has, set, int, ints, str, inputs: node.inputs.length, outputs: node.outputs.length });
      return;
    }
  }
}
