import onnxProto from 'onnx-proto';

/** Small ONNX models written node by node (ops the GraphBuilder does not emit), for tests. */
const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

type Attr = number | number[] | string;
export const node = (op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}, domain = '') =>
  onnx.NodeProto.create({
    opType: op,
    domain,
    name: `${op}_${outputs[0]}`,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attrs).map(([name, v]) =>
      typeof v === 'string'
        ? { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }
        : Array.isArray(v)
          ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : Number.isInteger(v)
            ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
            : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
    ),
  });
export const f32 = (name: string, dims: number[], fill = 0.1) => onnx.TensorProto.create({ name, dims, dataType: T.FLOAT, floatData: Array(prod(dims)).fill(fill) });
export const i64 = (name: string, dims: number[], values: number[]) => onnx.TensorProto.create({ name, dims, dataType: T.INT64, int64Data: values });
export const u8 = (name: string, dims: number[], fill = 1) => onnx.TensorProto.create({ name, dims, dataType: T.UINT8, int32Data: Array(prod(dims)).fill(fill) });

/** a one-input model (input `x` of `elemType`, float by default) of the given nodes, every node output a graph output */
export function model(x: number[], nodes: ReturnType<typeof node>[], inits: ReturnType<typeof f32>[], opset = 17, elemType: number = T.FLOAT): Uint8Array {
  const outs = [...new Set(nodes.flatMap((n) => n.output ?? []))].filter(Boolean);
  const vi = (name: string, shape?: number[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, ...(shape ? { shape: { dim: shape.map((d) => ({ dimValue: d })) } } : {}) } } });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }, { domain: 'com.microsoft', version: 1 }],
      graph: onnx.GraphProto.create({ name: 'g', node: nodes, initializer: inits, input: [vi('x', x)], output: outs.map((o) => onnx.ValueInfoProto.create({ name: o })) }),
    }),
  ).finish();
}

