import type { Graph } from '../ir/graph.js';

/** One value of a module parameter: an integer size or a categorical choice. */
export type ParamValue = number | string;
export type Params = Record<string, ParamValue>;

/** An integer parameter: sampled in [min, max] on a multiple of `step`, log-uniformly if `log`. */
export interface IntRange {
  min: number;
  max: number;
  step?: number;
  log?: boolean;
}

/** Where a parameter may take its values: a range or an explicit list. */
export type Domain = IntRange | ParamValue[];

export interface ParamSpec {
  name: string;
  doc: string;
  /** 'int' values must be integers >= `atLeast`; 'choice' values must be among `allowed` */
  kind: 'int' | 'choice';
  atLeast?: number;
  allowed?: ParamValue[];
  /** the default space: what `latencylab profile` samples when no space file is given */
  default: Domain;
}

export interface ModuleDef {
  name: string;
  description: string;
  params: ParamSpec[];
  /** Build the ONNX-op graph; throws UserError naming the field for an impossible configuration. */
  build(p: Params, seed?: number, withWeights?: boolean): Graph;
}

export const isRange = (d: Domain): d is IntRange => !Array.isArray(d);

/** Typed accessors so module files read `int(p, 'cin')` rather than casts everywhere. */
export function int(p: Params, name: string): number {
  return p[name] as number;
}
export function str<T extends string>(p: Params, name: string): T {
  return p[name] as T;
}

export const spec = {
  int: (name: string, doc: string, def: Domain, atLeast = 1): ParamSpec => ({ name, doc, kind: 'int', atLeast, default: def }),
  choice: (name: string, doc: string, allowed: ParamValue[], def: ParamValue[] = allowed): ParamSpec => ({
    name,
    doc,
    kind: 'choice',
    allowed,
    default: def,
  }),
};

/** Parameters shared by the image-shaped modules. */
export const common = {
  batch: spec.int('batch', 'batch size', [1, 2, 4, 8]),
  hw: (def: Domain = { min: 7, max: 112, log: true }) => spec.int('hw', 'input height = width', def),
  channels: (name: string, doc: string, def: Domain = { min: 8, max: 256, step: 8, log: true }) => spec.int(name, doc, def),
};

/** batch, hw, cin, cout with the default conv domains (conv2d, conv-bn-act) */
export const convInOut = (): ParamSpec[] => [common.batch, common.hw(), common.channels('cin', 'input channels'), common.channels('cout', 'output channels')];
