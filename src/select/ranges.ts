import type { ModuleDef, Params } from '../modules/index.js';
import type { DeviceSettings } from '../profile/space.js';
import type { SampleRow } from '../store/db.js';

/** What a model was trained on: numeric ranges and seen categories, to flag extrapolation. */
export interface Ranges {
  ints: Record<string, [number, number]>;
  choices: Record<string, Array<number | string>>;
  threads: number[];
  loads: string[];
}

const loadKey = (workers: number, duty: number) => (workers ? `${workers}@${duty}` : '0');

export function trainingRanges(m: ModuleDef, rows: readonly Pick<SampleRow, 'params_json' | 'threads' | 'load_workers' | 'load_duty'>[]): Ranges {
  const ps = rows.map((r) => JSON.parse(r.params_json) as Params);
  const ints: Ranges['ints'] = {};
  const choices: Ranges['choices'] = {};
  for (const s of m.params) {
    const vals = ps.map((p) => p[s.name]!);
    if (s.kind === 'int') ints[s.name] = [Math.min(...(vals as number[])), Math.max(...(vals as number[]))];
    else choices[s.name] = [...new Set(vals)];
  }
  return {
    ints,
    choices,
    threads: [...new Set(rows.map((r) => r.threads))].sort(),
    loads: [...new Set(rows.map((r) => loadKey(r.load_workers, r.load_duty)))].sort(),
  };
}

/** Every way a configuration lies outside the training data, e.g. 'cin=1024 > 512'. */
export function extrapolation(r: Ranges, p: Params, device: DeviceSettings): string[] {
  const out: string[] = [];
  for (const [name, [lo, hi]] of Object.entries(r.ints)) {
    const v = p[name] as number;
    if (v < lo) out.push(`${name}=${v} < ${lo}`);
    if (v > hi) out.push(`${name}=${v} > ${hi}`);
  }
  for (const [name, seen] of Object.entries(r.choices)) if (!seen.includes(p[name]!)) out.push(`${name}=${p[name]} never trained`);
  if (!r.threads.includes(device.threads)) out.push(`threads=${device.threads} (trained: ${r.threads.join(', ')})`);
  const lk = loadKey(device.loadWorkers, device.loadDuty);
  if (!r.loads.includes(lk)) out.push(`load=${lk} (trained: ${r.loads.join(', ')})`);
  return out;
}
