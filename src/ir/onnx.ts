import onnxProto from 'onnx-proto';
import type { AttrValue, Graph } from './graph.js';

const { onnx } = onnxProto;

/** ONNX opset used for every generated module (LayerNormalization needs 17). */
export const OPSET = 17;

/** Serialise an IR graph as an ONNX ModelProto (bytes ready for InferenceSession.create). */
export function toOnnx(g: Graph): Uint8Array {
  const ints = new Set(g.int64Inputs ?? []);
  const valueInfo = (name: string) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: ints.has(name) ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
          shape: { dim: g.shapes.get(name)!.map((d) => ({ dimValue: d })) },
        },
      },
    });
  const graph = onnx.GraphProto.create({
    name: g.name,
    input: g.inputs.map((t) => valueInfo(t.name)),
    output: g.outputs.map((t) => valueInfo(t.name)),
    node: g.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      }),
    ),
    initializer: g.initializers.map((init) =>
      onnx.TensorProto.create({
        name: init.name,
        dims: init.shape,
        dataType: init.data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        // raw little-endian bytes: much faster to encode than repeated floatData
        rawData: new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength),
      }),
    ),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'latencylab',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (Number.isInteger(v)) return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
}
