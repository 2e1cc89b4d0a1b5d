import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { UserError } from '../util/errors.js';

/**
 * The one ONNX loader: reads and decodes a ModelProto and checks what every consumer relies on
 * (a topologically sorted graph, a supported opset, tensors stored inside the file). Whole-model
 * prediction (`onnx-shapes.ts`) and the early-exit graph cutter both start here.
 */
const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.GraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

/** default-domain opsets whose op semantics the shape inference implements */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

/** the graph of a decoded model (decodeOnnxModel has checked that it exists) */
export const graphOf = (model: ModelProto): GraphProto => model.graph as GraphProto;

export function loadOnnxModel(path: string): ModelProto {
  return readOnnxFile(path).model;
}

/** the decoded model and the file's bytes (to create sessions from) */
export function readOnnxFile(path: string): { model: ModelProto; bytes: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read model file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
  return { model: decodeOnnxModel(bytes, path), bytes };
}

/** The default-domain opset a model declares. */
export function opsetOf(model: ModelProto): number {
  const imp = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return imp ? int64(imp.version) : 0;
}

/** Decodes a ModelProto and checks it; every error names the file and the field. */
export function decodeOnnxModel(bytes: Uint8Array, where: string): ModelProto {
  let model: ModelProto;
  try {
    // as a Buffer (a view, no copy): protobufjs then decodes strings natively instead of byte by
    // byte in JavaScript — node and tensor names made that half of decoding a model
    model = onnx.ModelProto.decode(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new UserError(`not an ONNX model (protobuf decoding failed: ${(e as Error).message})`, where);
  }
  const g = model.graph as GraphProto | null;
  if (!g || !g.node?.length) throw new UserError('ONNX model has no graph nodes', where);
  if (!model.opsetImport.length) throw new UserError('ONNX model declares no opset (opset_import is empty)', where);
  const opset = opsetOf(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new UserError(`default-domain opset ${opset || 'missing'} is not supported (supported: ${MIN_OPSET}–${MAX_OPSET}); convert the model with onnx.version_converter`, `${where}: opset_import`);
  }
  const external = g.initializer.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0);
  if (external.length) {
    throw new UserError(
      `${external.length} initializer(s) (e.g. "${external[0]!.name}") are stored in external data files, which latencylab does not read; save the model with every tensor inside the .onnx file (onnx.save_model(..., save_as_external_data=False))`,
      `${where}: graph.initializer`,
    );
  }
  const inits = new Set(g.initializer.map((t) => t.name ?? ''));
  const produced = new Set<string>([...g.input.map((i) => i.name ?? ''), ...inits]);
  for (const [i, n] of g.node.entries()) {
    for (const t of n.input ?? []) {
      if (t !== '' && !produced.has(t)) throw new UserError(`node ${i} (${n.opType}) reads tensor "${t}" that no earlier node produces (graph is not topologically sorted or is truncated)`, `${where}: graph.node`);
    }
    for (const t of n.output ?? []) produced.add(t);
  }
  for (const o of g.output) if (!produced.has(o.name ?? '')) throw new UserError(`graph output "${o.name}" is never produced`, `${where}: graph.output`);
  return model;
}

/** The graph inputs that are not initializers (older exporters list weights as inputs too). */
export function dataInputs(model: ModelProto): Array<{ name: string; dims: Array<number | null>; dimNames: Array<string | undefined>; elemType: number }> {
  const g = graphOf(model);
  const inits = new Set(g.initializer.map((t) => t.name ?? ''));
  return g.input
    .filter((i) => !inits.has(i.name ?? ''))
    .map((i) => {
      const dim = i.type?.tensorType?.shape?.dim ?? [];
      return {
        name: i.name ?? '',
        dims: dim.map((d) => (d.dimValue != null && int64(d.dimValue) > 0 ? int64(d.dimValue) : null)),
        // symbolic dims ('batch', 'sequence'): one --dim sets every input's dim of that name
        dimNames: dim.map((d) => (d.dimParam ? d.dimParam : undefined)),
        elemType: i.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT,
      };
    });
}

/**
 * What the user says about a model's dynamic input dims: whole shapes by input name ('' for the
 * first input: `--input-shape 1,3,224,224`), and values of symbolic dims by name (`--dim seq=128`).
 */
export interface InputOverrides {
  shapes?: Record<string, number[]>;
  dims?: Record<string, number>;
}

/** First input's name and its declared dims (numbers, or null where the dim is symbolic/dynamic). */
export function declaredInput(model: ModelProto): { name: string; dims: Array<number | null> } {
  const first = dataInputs(model)[0];
  if (!first) throw new UserError('ONNX model has no data input (every graph input is an initializer)', 'graph.input');
  return first;
}

/**
 * The shape of one input: its declared dims, with `override` for dynamic ones, else each symbolic
 * dim from `named` (by its dim_param), else a dynamic batch (dim 0) of 1. A dynamic dim left open
 * is an error that says which flag fills it.
 */
export function resolveShape(name: string, dims: Array<number | null>, override: number[] | undefined, where: string, named?: { names: Array<string | undefined>; values: Record<string, number> }): number[] {
  const check = (shape: number[]) => {
    if (shape.some((d) => !Number.isInteger(d) || d < 1 || d > 65536) || shape.reduce((a, b) => a * b, 1) > 2 ** 26) {
      throw new UserError(`input "${name}" shape [${shape.join(',')}] is not usable (each dim 1..65536, at most 64 M values)`, where);
    }
    return shape;
  };
  if (override) {
    if (override.length !== dims.length) throw new UserError(`input "${name}" has rank ${dims.length}, --input-shape gives ${override.length} dims`, where);
    override.forEach((d, i) => {
      const decl = dims[i];
      if (decl != null && decl !== d && i > 0) throw new UserError(`input "${name}" dim ${i} is fixed at ${decl}, --input-shape gives ${d}`, where);
    });
    return check([override[0] ?? 1, ...override.slice(1)]);
  }
  const filled = dims.map((d, i) => d ?? (named?.names[i] !== undefined ? named.values[named.names[i]!] : undefined) ?? (i === 0 ? 1 : null));
  const missing = filled.map((d, i) => (d == null ? i : -1)).filter((i) => i >= 0);
  if (missing.length) {
    const symbols = [...new Set(missing.map((i) => named?.names[i]).filter((x): x is string => x !== undefined))];
    const example = filled.map((d) => d ?? '?').join(',');
    const label = missing.map((i) => (named?.names[i] ? `${i} (${named.names[i]})` : `${i}`)).join(', ');
    const byDim = symbols.length === missing.length ? `${symbols.map((x) => `--dim ${x}=<n>`).join(' ')}, or ` : '';
    throw new UserError(`input "${name}" has dynamic dims ${label}: give ${byDim}--input-shape (e.g. ${example} with every ? filled in)`, where);
  }
  return check(filled as number[]);
}

/** Batch-1 shape of the first input (see resolveShape); the batch is always 1 here. */
export function resolveInputShape(model: ModelProto, override: number[] | undefined, where: string): number[] {
  const { name, dims } = declaredInput(model);
  const s = resolveShape(name, dims, override, where);
  return [1, ...s.slice(1)];
}

/**
 * A protobuf int64 (protobufjs decodes one as a Long object when the value needs it, else a
 * number) as a number. `Number(long)` would format it as a decimal string and parse that back,
 * which made int64 conversion the costliest step of importing a graph.
 */
export function int64(v: number | { toNumber(): number } | null | undefined): number {
  return v == null ? 0 : typeof v === 'number' ? v : v.toNumber();
}

/** Numeric contents of an initializer or Constant tensor (int64 as numbers); undefined for other types. */
export function tensorValues(t: TensorProto): number[] | undefined {
  const T = onnx.TensorProto.DataType;
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  switch (t.dataType) {
    case T.FLOAT:
      if (view) {
        const out = new Array<number>(raw!.length >> 2);
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
        return out;
      }
      return [...(t.floatData ?? [])];
    case T.DOUBLE:
      if (view) return Array.from({ length: raw!.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
      return [...(t.doubleData ?? [])];
    case T.INT64:
      if (view) return Array.from({ length: raw!.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
      return (t.int64Data ?? []).map(int64);
    case T.INT32:
    case T.INT8:
    case T.UINT8:
    case T.BOOL:
      if (view && t.dataType === T.INT32) return Array.from({ length: raw!.length / 4 }, (_, i) => view.getInt32(i * 4, true));
      if (view) return Array.from(raw!, (b) => (t.dataType === T.INT8 ? (b << 24) >> 24 : b));
      return [...(t.int32Data ?? [])];
    default:
      return undefined;
  }
}
