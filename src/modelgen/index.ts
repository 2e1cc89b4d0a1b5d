import type { Graph, GraphCost } from '../ir/graph.js';
import { toOnnx } from '../ir/onnx.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { bert, crnn, dbnet, densenet, efficientnet, googlenet, mobilenetv2, mobilenetv3, resnet, shufflenetv2, squeezenet, textline, unet, vit, type Family } from './families.js';

/** Every generated family. Adding one = a Family object + one line here. */
export const FAMILIES: readonly Family[] = [resnet, mobilenetv2, mobilenetv3, efficientnet, shufflenetv2, squeezenet, densenet, googlenet, unet, dbnet, vit, bert, crnn, textline];

export interface GeneratedModel {
  /** `<family>-<seed>` */
  name: string;
  family: string;
  seed: number;
  config: Record<string, unknown>;
  graph: Graph;
}

export function getFamily(name: string): Family {
  const f = FAMILIES.find((x) => x.name === name);
  if (!f) throw new UserError(`unknown model family '${name}', expected one of: ${FAMILIES.map((x) => x.name).join(', ')}`, 'family');
  return f;
}

/** One network of a family; the same (family, seed) always gives the same network and weights. */
export function generateModel(family: string, seed: number): GeneratedModel {
  const f = getFamily(family);
  const name = modelName(f, seed);
  const { b, config } = f.build(familyRng(f, seed), { name, withWeights: true });
  return { name, family: f.name, seed, config, graph: b.build() };
}

/** The cost (FLOPs, params, bytes) of what generateModel(family, seed) builds, without drawing its weights (~0.2 ms against ~70 ms a network) */
export function generatedCost(family: string, seed: number): GraphCost {
  const f = getFamily(family);
  return f.build(familyRng(f, seed), { name: modelName(f, seed), withWeights: false }).b.build().cost;
}

const familyRng = (f: Family, seed: number) => new Rng(seed * 7919 + f.name.length);

/** `family-seed`, or `family.rN-seed` once the family's generator has been revised */
export const modelName = (f: Family, seed: number) => `${f.name}${f.revision ? `.r${f.revision}` : ''}-${seed}`;

export const modelBytes = (m: GeneratedModel): Uint8Array => toOnnx(m.graph);

/** `perFamily` networks of every family, seeds first..first+perFamily-1 (disjoint ranges = disjoint sets) */
export function generateSet(firstSeed: number, perFamily: number, families: readonly string[] = FAMILIES.map((f) => f.name)): GeneratedModel[] {
  const out: GeneratedModel[] = [];
  for (let i = 0; i < perFamily; i++) for (const f of families) out.push(generateModel(f, firstSeed + i));
  return out;
}

export type { BuildTarget, Family } from './families.js';
