import os from 'node:os';
import type pg from 'pg';
import { getModule } from '../modules/index.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import { environmentOf, measureChunk } from '../profile/profiler.js';
import { measureModel } from '../profile/model-timing.js';
import { loadAverage1 } from '../profile/environment.js';
import { getRuntime } from '../runtimes/index.js';
import type { Runtime } from '../runtimes/types.js';
import { UserError } from '../util/errors.js';
import { FleetStore, type FleetSample } from './pg-store.js';
import { FleetQueue, queueName, type MeasureJob } from './queue.js';

/**
 * `latencylab agent`: runs on a target machine, serves one device setting. It holds the machine
 * lock (a PostgreSQL advisory lock on the machine's name, held by its connection, so it dies with
 * the process), reports its environment, then pulls jobs, measures them with the profiler's own
 * timing code and writes the samples back — samples first, acknowledgement second: an agent killed
 * in between loses nothing (the job's lease runs out, another agent measures it again) and stores
 * nothing twice (a sample is keyed by its dataset and plan index).
 */
export interface AgentOptions {
  url: string;
  device: string;
  threads: number;
  /** the machine this agent measures on (default: the host name); one agent per machine measures at a time */
  machine?: string;
  /** stop after this many jobs (default: run until stopped) */
  maxJobs?: number;
  /** stop when the queue stayed empty this long, ms (default: never) */
  idleExitMs?: number;
  pollMs?: number;
  leaseSeconds?: number;
  maintenanceSeconds?: number;
  log?: (s: string) => void;
  shouldStop?: () => boolean;
}

export interface AgentResult {
  id: string;
  jobs: number;
  stored: number;
  failed: number;
}

export async function machineLock(store: FleetStore, machine: string): Promise<pg.PoolClient> {
  const c = await store.pool.connect();
  const r = await c.query("SELECT pg_try_advisory_lock(hashtext('latencylab-machine:' || $1)) AS ok", [machine]);
  if (!r.rows[0].ok) {
    c.release();
    throw new UserError(
      `another agent is measuring on machine '${machine}': two measuring processes on one machine falsify each other's timings; stop it first, or give a simulated agent its own --machine`,
      '--machine',
    );
  }
  return c;
}

export async function runAgent(o: AgentOptions): Promise<AgentResult> {
  const rt = getRuntime(o.device);
  if (rt.threadChoices && !rt.threadChoices.includes(o.threads)) throw new UserError(`${o.device} runs with ${rt.threadChoices.join(' or ')} threads, got ${o.threads}`, '--threads');
  const machine = o.machine ?? os.hostname();
  const id = `${machine}:${process.pid}:${o.device}:t${o.threads}`;
  const queue = queueName(o.device, { threads: o.threads });
  const store = await FleetStore.open(o.url, { max: 3 });
  let lock: pg.PoolClient | undefined;
  let q: FleetQueue | undefined;
  const result: AgentResult = { id, jobs: 0, stored: 0, failed: 0 };
  try {
    lock = await machineLock(store, machine);
    q = await FleetQueue.open(o.url, { leaseSeconds: o.leaseSeconds, maintenanceSeconds: o.maintenanceSeconds, max: 3 });
    await q.ensureQueue(queue);
    const env = await environmentOf(rt);
    await store.registerAgent({ id, machine, queue, env });
    o.log?.(`agent ${id}: serving ${queue} (${env.cpuModel}, ${env.cores} cores, ${env.runtime} ${env.runtimeVersion})`);
    await serveQueue(store, q, rt, { id, queue, env }, o, result);
    await store.heartbeat(id, 0, 0, 'stopped');
  } finally {
    await q?.close().catch(() => undefined);
    if (lock) {
      await lock.query("SELECT pg_advisory_unlock(hashtext('latencylab-machine:' || $1))", [machine]).catch(() => undefined);
      lock.release();
    }
    await store.close();
  }
  return result;
}

/**
 * The agent loop: fetch a job, run it, store its samples, acknowledge; an error fails the job
 * (pg-boss retries it, then dead-letters it). Shared by `latencylab agent` and bench:fleet's
 * simulated agents (many loops in one process sharing its connections).
 */
export async function serveQueue(
  store: FleetStore,
  q: FleetQueue,
  rt: Runtime,
  me: { id: string; queue: string; env: Awaited<ReturnType<typeof environmentOf>> },
  o: Pick<AgentOptions, 'maxJobs' | 'idleExitMs' | 'pollMs' | 'log' | 'shouldStop'>,
  result: AgentResult,
): Promise<void> {
  const { id, queue, env } = me;
  let idleSince = performance.now();
  while (!o.shouldStop?.() && (o.maxJobs === undefined || result.jobs + result.failed < o.maxJobs)) {
    const job = await q.fetch(queue);
    if (!job) {
      await store.heartbeat(id, 0, 0, 'idle');
      if (o.idleExitMs !== undefined && performance.now() - idleSince > o.idleExitMs) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      continue;
    }
    idleSince = performance.now();
    try {
      const stored = await runJob(store, rt, job.data, id, env);
      await q.complete(queue, job.id);
      await store.heartbeat(id, 1, stored);
      result.jobs++;
      result.stored += stored;
      o.log?.(job.data.kind === 'model' ? `  model ${job.data.name}: ${stored ? 'timed' : 'already timed'}` : `  ${job.data.dataset} [${job.data.idxs[0]}…${job.data.idxs.at(-1)}]: ${stored} samples stored`);
    } catch (e) {
      result.failed++;
      const msg = (e as Error).message;
      await q.fail(queue, job.id, msg);
      o.log?.(`  job ${job.id} failed: ${msg}`);
    }
  }
}

/** runs one job and stores what it measured; returns how many results were new */
export async function runJob(store: FleetStore, rt: Runtime, job: MeasureJob, agent: string, env: Awaited<ReturnType<typeof environmentOf>>): Promise<number> {
  if (job.kind === 'model') {
    const m = await store.model(job.model);
    if (!m) throw new UserError(`model ${job.model} (${job.name}) is not in the fleet store`, 'job');
    const r = await measureModel(m.bytes, m.inputs, rt.device, job.threads);
    return (await store.insertModelRun(job.model, rt.device, job.threads, { ...r, env, loadavg1: loadAverage1() }, agent)) ? 1 : 0;
  }
  const ds = await store.dataset(job.dataset);
  if (!ds) throw new UserError(`dataset '${job.dataset}' is not in the fleet store`, 'job');
  if (ds.device !== rt.device) throw new UserError(`dataset '${job.dataset}' is for ${ds.device}, this agent serves ${rt.device}`, 'job');
  const cfgs = await store.planned(job.dataset, job.idxs);
  if (cfgs.length !== job.idxs.length) throw new UserError(`plan indices ${job.idxs.join(',')} are not all planned in '${job.dataset}'`, 'job');
  let samples: FleetSample[];
  if (job.simulateMs !== undefined) {
    await new Promise((r) => setTimeout(r, job.simulateMs));
    samples = cfgs.map((c) => ({ ...c, agent, env, cost: {} as never, createMs: 0, timing: { latencyMs: job.simulateMs! } as never, loadavg1: 0 }));
  } else {
    const m = getModule(ds.module);
    const timing = { ...DEFAULT_TIMING, ...(ds.spec.timing as object) };
    const results = await measureChunk(rt, m, cfgs, timing, Number(ds.spec.seed ?? 1) + cfgs[0]!.idx);
    const loadavg1 = loadAverage1();
    samples = cfgs.map((c, i) => ({ ...c, ...results[i]!, agent, env, loadavg1 }));
  }
  return store.insertSamples(job.dataset, samples);
}
