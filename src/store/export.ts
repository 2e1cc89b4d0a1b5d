import type { Store } from './db.js';

/** Flat rows of a dataset: one column per module parameter, cost feature, timing stat and env field. */
export function datasetRows(store: Store, name: string): Record<string, string | number>[] {
  const ds = store.requireDataset(name);
  return store.samplesWithEnv(ds.id).map((s) => {
    const { params_json, id: _id, dataset_id: _d, env_id: _e, ...rest } = s;
    const params = Object.fromEntries(Object.entries(JSON.parse(params_json) as Record<string, string | number>).map(([k, v]) => [`p_${k}`, v]));
    return { dataset: ds.name, module: ds.module, device: ds.device, ...params, ...(rest as Record<string, string | number>) };
  });
}

export function toCsv(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const esc = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => esc(r[c])).join(','))].join('\n') + '\n';
}
