import onnxProto from 'onnx-proto';
import { decodeOnnxModel, readOnnxFile, type ModelProto } from '../ir/onnx-load.js';
import { importOnnx, type ImportedModel } from '../ir/onnx-shapes.js';
import type { OnnxInput } from '../runtimes/ort.js';
import { UserError } from '../util/errors.js';

/** A user's ONNX model, read once, ready to predict (imported shapes) and to measure (bytes, feeds). */
export interface ModelFile {
  name: string;
  bytes: Uint8Array;
  imported: ImportedModel;
  inputs: OnnxInput[];
}

const T = onnxProto.onnx.TensorProto.DataType;

function fromProto(model: ModelProto, bytes: Uint8Array, name: string, inputShape: number[] | undefined): ModelFile {
  const imported = importOnnx(model, inputShape ? { '': inputShape } : {}, name);
  const inputs = imported.inputs.map((i) => {
    if (i.elemType !== T.FLOAT && i.elemType !== T.INT64) {
      throw new UserError(`input "${i.name}" has element type ${T[i.elemType] ?? i.elemType}; latencylab feeds float32 and int64 (token ids) inputs`, `${name}: graph.input`);
    }
    return { name: i.name, shape: i.shape, int64: i.elemType === T.INT64 };
  });
  return { name, bytes, imported, inputs };
}

/** Reads an .onnx file; `inputShape` fills the first input's dynamic dims (--input-shape). */
export function readModelFile(path: string, inputShape?: number[]): ModelFile {
  const { model, bytes } = readOnnxFile(path);
  return fromProto(model, bytes, path, inputShape);
}

export function modelFromBytes(bytes: Uint8Array, name: string, inputShape?: number[]): ModelFile {
  return fromProto(decodeOnnxModel(bytes, name), bytes, name, inputShape);
}
