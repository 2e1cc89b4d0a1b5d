import onnxProto from 'onnx-proto';
import { decodeOnnxModel, readOnnxFile, type InputOverrides, type ModelProto } from '../ir/onnx-load.js';
import { importOnnx, type ImportedModel } from '../ir/onnx-shapes.js';
import { FEED_TYPES, type FeedType, type OnnxInput } from '../runtimes/ort.js';

/** A user's ONNX model, read once, ready to predict (imported shapes) and to measure (bytes, feeds). */
export interface ModelFile {
  name: string;
  bytes: Uint8Array;
  imported: ImportedModel;
  inputs: OnnxInput[];
}

const T = onnxProto.onnx.TensorProto.DataType;
const FEED: Partial<Record<number, FeedType>> = { [T.FLOAT]: 'float32', [T.FLOAT16]: 'float16', [T.INT64]: 'int64', [T.INT32]: 'int32', [T.INT8]: 'int8', [T.UINT8]: 'uint8', [T.BOOL]: 'bool' };

/** the first input's shape (`--input-shape 1,3,224,224`), or shapes by input name and symbolic dims */
export type InputSpec = number[] | InputOverrides | undefined;

function fromProto(model: ModelProto, bytes: Uint8Array, name: string, spec: InputSpec): ModelFile {
  const imported = importOnnx(model, Array.isArray(spec) ? { shapes: { '': spec } } : (spec ?? {}), name);
  // prediction needs only shapes; an input latencylab cannot feed stops measuring, not predicting
  const inputs = imported.inputs.map((i): OnnxInput => {
    const type = FEED[i.elemType];
    if (!type) return { name: i.name, shape: i.shape, unfeedable: `${name}: graph.input: input "${i.name}" has element type ${T[i.elemType] ?? i.elemType}; latencylab can time models whose inputs are ${FEED_TYPES.join(', ')} (it can still predict this one)` };
    return { name: i.name, shape: i.shape, ...(type !== 'float32' ? { type } : {}) };
  });
  return { name, bytes, imported, inputs };
}

/** Reads an .onnx file; `spec` fills dynamic input dims (--input-shape, --dim). */
export function readModelFile(path: string, spec?: InputSpec): ModelFile {
  const { model, bytes } = readOnnxFile(path);
  return fromProto(model, bytes, path, spec);
}

export function modelFromBytes(bytes: Uint8Array, name: string, spec?: InputSpec): ModelFile {
  return fromProto(decodeOnnxModel(bytes, name), bytes, name, spec);
}
