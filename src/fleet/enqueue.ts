import { getModule } from '../modules/index.js';
import { CHUNK_SIZE, checkDeviceSpace, defaultDatasetName, measurementOrder, type ProfileRequest } from '../profile/profiler.js';
import { planConfigs } from '../profile/sampler.js';
import { defaultSpace } from '../profile/space.js';
import { DEFAULT_TIMING, type TimingOptions } from '../profile/timer.js';
import { getRuntime } from '../runtimes/index.js';
import type { OnnxInput } from '../runtimes/ort.js';
import { UserError } from '../util/errors.js';
import type { FleetStore } from './pg-store.js';
import { queueName, type FleetQueue, type ModuleJob } from './queue.js';

/** what `profile --fleet` takes: a local profile request's plan fields (no load, probe or reference yet) */
export type FleetProfileRequest = Pick<ProfileRequest, 'module' | 'device' | 'samples' | 'sampler' | 'seed' | 'space' | 'name' | 'timing'> & {
  /** bench:fleet: jobs that sleep this long instead of measuring */
  simulateMs?: number;
};

export interface EnqueueResult {
  dataset: string;
  created: boolean;
  planned: number;
  pending: number;
  /** jobs added now (pending configurations already in a waiting or running job are not queued again) */
  jobs: number;
  queues: string[];
}

/**
 * `latencylab profile … --fleet`: plans the dataset exactly as a local `profile` would (same
 * sampler, seed and measurement order), stores the plan in the fleet store and queues its pending
 * configurations in chunks, one queue per device setting. Running it again queues only what is
 * neither stored nor already waiting in a job.
 */
export async function enqueueDataset(store: FleetStore, q: FleetQueue, req: FleetProfileRequest): Promise<EnqueueResult> {
  const m = getModule(req.module);
  const rt = getRuntime(req.device);
  const space = req.space ?? defaultSpace(m);
  checkDeviceSpace(rt, space);
  if (space.device.load.some((l) => l.workers > 0)) {
    throw new UserError('background-load levels are not supported with --fleet yet (an agent measures without generating load): drop --load or profile locally', '--load');
  }
  const sampler = req.sampler ?? 'random';
  const seed = req.seed ?? 1;
  const timing: TimingOptions = { ...DEFAULT_TIMING, ...req.timing };
  const name = req.name ?? defaultDatasetName(m.name, rt.device);
  const spec = { module: m.name, device: rt.device, space, sampler, seed, samples: req.samples, timing, fleet: true, ...(req.simulateMs !== undefined ? { simulateMs: req.simulateMs } : {}) };
  const plan = planConfigs(m, space, sampler, req.samples, seed);
  const created = await store.createDataset({ name, module: m.name, device: rt.device, spec }, measurementOrder(plan.configs, seed));
  const pending = await store.pending(name);
  const queued = new Set<number>();
  for (const qn of await q.queues()) for (const idx of await q.queuedIdxs(qn, name)) queued.add(idx);
  const byQueue = new Map<string, number[]>();
  for (const c of pending) {
    if (queued.has(c.idx)) continue;
    const qn = queueName(rt.device, c.device);
    byQueue.set(qn, [...(byQueue.get(qn) ?? []), c.idx]);
  }
  let jobs = 0;
  for (const [qn, idxs] of byQueue) {
    const batch: ModuleJob[] = [];
    for (let i = 0; i < idxs.length; i += CHUNK_SIZE) batch.push({ dataset: name, idxs: idxs.slice(i, i + CHUNK_SIZE), enqueuedAt: Date.now(), ...(req.simulateMs !== undefined ? { simulateMs: req.simulateMs } : {}) });
    await q.enqueue(qn, batch);
    jobs += batch.length;
  }
  return { dataset: name, created, planned: plan.configs.length, pending: pending.length, jobs, queues: [...byQueue.keys()] };
}

/**
 * `latencylab measure model.onnx --fleet`: stores the model in the fleet store (by content hash)
 * and queues one job for the device setting; `fleet` shows the measured latency when an agent is done.
 */
export async function enqueueModel(store: FleetStore, q: FleetQueue, m: { name: string; bytes: Uint8Array; inputs: OnnxInput[]; device: string; threads: number }): Promise<{ hash: string; queue: string; queued: boolean }> {
  const rt = getRuntime(m.device);
  if (rt.threadChoices && !rt.threadChoices.includes(m.threads)) throw new UserError(`${m.device} runs with ${rt.threadChoices.join(' or ')} threads, got ${m.threads}`, '--threads');
  // refused here, not by the agent that would take the job
  const bad = m.inputs.find((i) => i.unfeedable);
  if (bad) throw new UserError(bad.unfeedable!);
  const hash = await store.putModel(m.name, m.bytes, m.inputs);
  const queue = queueName(m.device, { threads: m.threads });
  if (await store.modelRun(hash, m.device, m.threads)) return { hash, queue, queued: false };
  await q.enqueue(queue, [{ kind: 'model', model: hash, name: m.name, threads: m.threads, enqueuedAt: Date.now() }]);
  return { hash, queue, queued: true };
}
