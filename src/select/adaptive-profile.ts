import { getModule } from '../modules/index.js';
import { profile, type ProfileHooks, type ProfileRequest, type ProfileResult } from '../profile/profiler.js';
import { planConfigs } from '../profile/sampler.js';
import { defaultSpace } from '../profile/space.js';
import { featureSpace, getRegressorKind } from '../regressors/index.js';
import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { adaptivePick } from './adaptive.js';
import { featureRow } from './autoselect.js';
import { featureOptionsFor } from './split.js';

/**
 * Profiling with adaptive sampling: measure `req.samples` random configurations, then in rounds
 * of `step` add configurations near where a GBT fitted on what is measured errs most (out of
 * fold), until the dataset holds `budget`. Resumable like `profile`: the plan grows in the store
 * before a round is measured, so a killed run finishes that round when started again.
 */
export async function profileAdaptive(store: Store, req: ProfileRequest & { name: string }, budget: number, step: number, hooks: ProfileHooks = {}, log: (s: string) => void = () => undefined): Promise<ProfileResult> {
  if (budget < req.samples) throw new UserError(`the budget (${budget}) must be at least the first random sample (${req.samples})`, '--adaptive');
  const m = getModule(req.module);
  const space = req.space ?? defaultSpace(m);
  const fs = featureSpace(m, featureOptionsFor(req.device));
  let r = await profile(store, req, hooks);
  for (let round = 1; !r.stopped; round++) {
    const ds = store.requireDataset(req.name);
    if (ds.planned >= budget) break;
    const measured = store.samples(ds.id);
    const seen = new Set(store.plannedConfigs(ds.id).map((c) => JSON.stringify(c.params)));
    const pool = planConfigs(m, space, 'random', Math.max(1000, 10 * step), (req.seed ?? 1) * 7919 + ds.planned).configs.filter((c) => !seen.has(JSON.stringify(c.params)));
    if (!pool.length) break;
    const poolRows = pool.map((c) => featureRow(m, c.params, c.device));
    const picked = await adaptivePick(getRegressorKind('gbt'), fs, measured, poolRows, Math.min(step, budget - ds.planned), { seed: round });
    log(`${req.name}: adaptive round ${round}, ${picked.length} configurations near the highest errors`);
    store.extendPlan(ds.id, picked.map((i) => pool[i]!));
    r = await profile(store, { ...req, fresh: false }, hooks);
  }
  return r;
}
