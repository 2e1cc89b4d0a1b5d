import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import type { FleetStore } from './pg-store.js';

/**
 * Copies a fleet dataset into the local SQLite store — plan, spec and every stored sample with the
 * environment of the agent that measured it — so that `train`, `predict` and the rest work on it
 * unchanged. Pulling again copies only the samples that arrived since.
 */
export async function pullDataset(fleet: FleetStore, local: Store, name: string): Promise<{ copied: number; stored: number; planned: number }> {
  const ds = await fleet.dataset(name);
  if (!ds) throw new UserError(`no dataset '${name}' in the fleet store`, '--dataset');
  if (ds.spec.simulateMs !== undefined) throw new UserError(`'${name}' was measured by simulated agents (bench:fleet): it has no latencies to train on`, '--dataset');
  const spec = { ...ds.spec };
  let row = local.getDataset(name);
  if (row && !local.sameSpec(row, spec)) throw new UserError(`the local store already has a different dataset '${name}'`, '--dataset');
  if (!row) {
    const plan = await fleet.planned(name, Array.from({ length: ds.planned }, (_, i) => i));
    row = local.createDataset({ name, module: ds.module, device: ds.device, sampler: String(spec.sampler), seed: Number(spec.seed), spec }, plan);
  }
  const have = new Set(local.samples(row.id).map((s) => s.idx));
  const samples = (await fleet.samples(name)).filter((s) => !have.has(s.idx));
  local.insertSamples(row.id, samples.map(({ env, agent: _agent, ...s }) => ({ ...s, envId: local.environmentId(env) })));
  return { copied: samples.length, stored: have.size + samples.length, planned: ds.planned };
}
