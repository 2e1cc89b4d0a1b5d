import type { ModuleDef } from '../modules/index.js';
import type { SampleRow } from '../store/db.js';

/**
 * Feature vector of one sample for the regression models: the analytic costs (log-scaled, since
 * latency spans orders of magnitude), the device settings, and the module's own parameters
 * (numbers log-scaled, categories one-hot).
 */
export interface FeatureSpace {
  names: string[];
  encode(row: FeatureSource): number[];
}

/** what a feature vector is computed from: a stored sample, or a config about to be predicted */
export type FeatureSource = Pick<
  SampleRow,
  'params_json' | 'threads' | 'load_workers' | 'load_duty' | 'macs' | 'flops' | 'params' | 'input_bytes' | 'output_bytes' | 'weight_bytes' | 'activation_bytes' | 'intensity' | 'nodes'
>;

const COST_FIELDS = ['macs', 'flops', 'params', 'input_bytes', 'output_bytes', 'weight_bytes', 'activation_bytes', 'intensity', 'nodes'] as const;

export function featureSpace(m: ModuleDef): FeatureSpace {
  const names: string[] = [...COST_FIELDS.map((f) => `log_${f}`), 'threads', 'load'];
  const paramEncoders: Array<(p: Record<string, unknown>) => number[]> = [];
  for (const spec of m.params) {
    if (spec.kind === 'int') {
      names.push(`log_${spec.name}`);
      paramEncoders.push((p) => [Math.log1p(Number(p[spec.name]))]);
    } else {
      const allowed = spec.allowed!;
      names.push(...allowed.map((a) => `${spec.name}=${a}`));
      paramEncoders.push((p) => allowed.map((a) => (p[spec.name] === a ? 1 : 0)));
    }
  }
  return {
    names,
    encode(row) {
      const p = JSON.parse(row.params_json) as Record<string, unknown>;
      return [
        ...COST_FIELDS.map((f) => Math.log1p(row[f])),
        row.threads,
        row.load_workers * row.load_duty,
        ...paramEncoders.flatMap((e) => e(p)),
      ];
    },
  };
}
