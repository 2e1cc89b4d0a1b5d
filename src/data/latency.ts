import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import { columnIndex, numberAt, readCsv } from './csv.js';

/**
 * The bundled NAS latency tables (data/latency, from HELP / HW-NAS-Bench, see its README):
 * architectures of a search space, their measured latency on many devices, NB201 accuracy and
 * FBNet zero-cost proxies.
 */
export const SEARCH_SPACES = ['nb201', 'fbnet'] as const;
export type SearchSpace = (typeof SEARCH_SPACES)[number];

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export const FBNET_OPS = ['k3_e1', 'k3_e1_g2', 'k3_e3', 'k3_e6', 'k5_e1', 'k5_e1_g2', 'k5_e3', 'k5_e6', 'skip'] as const;

export interface LatencyData {
  space: SearchSpace;
  /** op index (into NB201_OPS / FBNET_OPS) per position, one row per architecture */
  ops: Uint8Array[];
  devices: string[];
  /** latency in ms per device, indexed like `ops` */
  latency: Map<string, Float64Array>;
  /** HELP's 10 reference architectures (row indices) */
  referenceArchs: number[];
  /** NB201 only: CIFAR-10 test accuracy (%) */
  accuracy?: Float64Array;
  /** FBNet only: zero-cost proxies + flops + params per architecture */
  proxies?: { names: string[]; values: Float64Array[] };
}

export function defaultDataDir(): string {
  // src/data or dist/data → package root/data/latency
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'latency');
}

const cache = new Map<string, LatencyData>();

export function loadLatencyData(space: string, dir = defaultDataDir()): LatencyData {
  if (!SEARCH_SPACES.includes(space as SearchSpace)) throw new UserError(`unknown search space '${space}', expected one of ${SEARCH_SPACES.join(', ')}`, 'space');
  const key = `${space}:${dir}`;
  if (!cache.has(key)) cache.set(key, space === 'nb201' ? loadNb201(path.join(dir, 'nb201')) : loadFbnet(path.join(dir, 'fbnet')));
  return cache.get(key)!;
}

function loadNb201(dir: string): LatencyData {
  const archs = readCsv(path.join(dir, 'archs.csv.gz'));
  const idCol = columnIndex(archs, 'arch_id');
  const strCol = columnIndex(archs, 'arch_str');
  const ops = archs.rows.map((r, i) => {
    expectRowId(archs.file, i, r[idCol]!);
    return parseNb201(r[strCol]!, `${archs.file}: line ${i + 2}`);
  });
  const data = loadLatencyTable(dir, 'nb201', ops);
  const acc = readCsv(path.join(dir, 'accuracy.csv.gz'));
  if (acc.rows.length !== ops.length) throw new UserError(`has ${acc.rows.length} rows, archs.csv.gz has ${ops.length}`, acc.file);
  const c10 = columnIndex(acc, 'cifar10_test');
  data.accuracy = Float64Array.from(acc.rows, (_, i) => numberAt(acc, i, c10));
  return data;
}

function loadFbnet(dir: string): LatencyData {
  const archs = readCsv(path.join(dir, 'archs.csv.gz'));
  const idCol = columnIndex(archs, 'arch_id');
  const blockCols = Array.from({ length: 22 }, (_, b) => columnIndex(archs, `block${b}`));
  const ops = archs.rows.map((r, i) => {
    expectRowId(archs.file, i, r[idCol]!);
    return Uint8Array.from(blockCols, (c) => {
      const k = FBNET_OPS.indexOf(r[c] as (typeof FBNET_OPS)[number]);
      if (k < 0) throw new UserError(`line ${i + 2}, column '${archs.header[c]}': unknown block '${r[c]}', expected one of ${FBNET_OPS.join(', ')}`, archs.file);
      return k;
    });
  });
  const data = loadLatencyTable(dir, 'fbnet', ops);
  const zcp = readCsv(path.join(dir, 'zcp.csv.gz'));
  const keyCol = columnIndex(zcp, 'op_idx_list');
  const names = zcp.header.filter((_, i) => i !== keyCol);
  const byKey = new Map<string, Float64Array>();
  zcp.rows.forEach((r, i) => byKey.set(r[keyCol]!, Float64Array.from(zcp.header.flatMap((_, c) => (c === keyCol ? [] : [numberAt(zcp, i, c)])))));
  data.proxies = {
    names,
    values: ops.map((o, i) => {
      const v = byKey.get(Array.from(o).join('_'));
      if (!v) throw new UserError(`no row for architecture ${i} (op_idx_list ${Array.from(o).join('_')})`, zcp.file);
      return v;
    }),
  };
  return data;
}

function loadLatencyTable(dir: string, space: SearchSpace, ops: Uint8Array[]): LatencyData {
  const lat = readCsv(path.join(dir, 'latency.csv.gz'));
  if (lat.rows.length !== ops.length) throw new UserError(`has ${lat.rows.length} rows, archs.csv.gz has ${ops.length}`, lat.file);
  const idCol = columnIndex(lat, 'arch_id');
  const devices = lat.header.filter((_, i) => i !== idCol);
  const latency = new Map<string, Float64Array>();
  for (const d of devices) {
    const c = columnIndex(lat, d);
    latency.set(d, Float64Array.from(lat.rows, (_, i) => numberAt(lat, i, c, true)));
  }
  lat.rows.forEach((r, i) => expectRowId(lat.file, i, r[idCol]!));
  const refFile = path.join(dir, 'hardware_embedding_index.json');
  let refs: unknown;
  try {
    refs = (JSON.parse(readFileSync(refFile, 'utf8')) as { reference_arch_ids?: unknown }).reference_arch_ids;
  } catch (e) {
    throw new UserError(`cannot read: ${(e as Error).message}`, refFile);
  }
  if (!Array.isArray(refs) || refs.some((x) => !Number.isInteger(x) || x < 0 || x >= ops.length)) {
    throw new UserError(`reference_arch_ids must be a list of arch ids in [0, ${ops.length})`, refFile);
  }
  return { space, ops, devices, latency, referenceArchs: refs as number[] };
}

function expectRowId(file: string, i: number, raw: string): void {
  if (Number(raw) !== i) throw new UserError(`line ${i + 2}: expected arch_id ${i} (rows in id order), got '${raw}'`, file);
}

/** `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` → the 6 edge ops in order (0→1, 0→2, 1→2, 0→3, 1→3, 2→3) */
export function parseNb201(s: string, where: string): Uint8Array {
  const nodes = s.split('+');
  const out: number[] = [];
  if (nodes.length !== 3) throw new UserError(`'${s}' is not a NAS-Bench-201 cell (expected 3 nodes separated by '+')`, where);
  nodes.forEach((node, j) => {
    const edges = node.split('|').filter((e) => e !== '');
    if (edges.length !== j + 1) throw new UserError(`'${s}': node ${j + 1} must have ${j + 1} input edges`, where);
    edges.forEach((e, k) => {
      const [op, from] = e.split('~');
      const idx = NB201_OPS.indexOf(op as (typeof NB201_OPS)[number]);
      if (idx < 0 || Number(from) !== k) throw new UserError(`'${s}': bad edge '${e}', expected <op>~${k} with op in ${NB201_OPS.join(', ')}`, where);
      out.push(idx);
    });
  });
  return Uint8Array.from(out);
}

export function requireDevice(data: LatencyData, device: string): Float64Array {
  const v = data.latency.get(device);
  if (!v) throw new UserError(`unknown device '${device}' for ${data.space}, expected one of: ${data.devices.join(', ')}`, 'device');
  return v;
}

/** an architecture as users write it: NB201's cell string, FBNet's 22 block names joined by '-' */
export function formatArch(space: SearchSpace, ops: Uint8Array): string {
  if (space === 'fbnet') return Array.from(ops, (o) => FBNET_OPS[o]!).join('-');
  const n = (i: number, from: number) => `${NB201_OPS[ops[i]!]}~${from}`;
  return `|${n(0, 0)}|+|${n(1, 0)}|${n(2, 1)}|+|${n(3, 0)}|${n(4, 1)}|${n(5, 2)}|`;
}

const archIndex = new WeakMap<LatencyData, Map<string, number>>();

/** the row of an architecture given as a row id or as `formatArch` writes it */
export function parseArch(data: LatencyData, text: string, where: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const id = Number(t);
    if (id >= data.ops.length) throw new UserError(`architecture id ${id} is out of range: ${data.space} has ids 0–${data.ops.length - 1}`, where);
    return id;
  }
  if (!archIndex.has(data)) archIndex.set(data, new Map(data.ops.map((o, i) => [formatArch(data.space, o), i])));
  const id = archIndex.get(data)!.get(t);
  if (id === undefined) {
    const hint = data.space === 'nb201' ? "a cell like '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|…|'" : `22 of ${FBNET_OPS.join('/')} joined by '-'`;
    throw new UserError(`'${t.slice(0, 80)}' is not an architecture of the ${data.space} table: expected an id or ${hint}`, where);
  }
  return id;
}
