import type PgBoss from 'pg-boss';
import type { DeviceSettings } from '../runtimes/settings.js';
import { UserError } from '../util/errors.js';
import { lazyRequire } from '../util/lazy.js';

/**
 * The fleet's job queue: pg-boss (a maintained queue on PostgreSQL: SKIP LOCKED fetches, leases
 * that expire, retries, a dead-letter queue) in the same database as the samples. One queue per
 * device setting an agent can serve; a job is one chunk of a dataset's planned configurations
 * (or, in bench:fleet, a simulated job). A job whose agent dies is failed when its lease runs out
 * and retried elsewhere; a job that failed 3 times lands in the dead-letter queue with its error.
 */
/** one chunk of a dataset's planned module configurations */
export interface ModuleJob {
  kind?: 'module';
  dataset: string;
  idxs: number[];
  /** bench:fleet only: the simulated agent sleeps this long instead of measuring */
  simulateMs?: number;
  enqueuedAt: number;
}

/** one whole ONNX model (stored in the fleet store by its hash), timed end to end */
export interface ModelJob {
  kind: 'model';
  model: string;
  name: string;
  threads: number;
  enqueuedAt: number;
}

export type MeasureJob = ModuleJob | ModelJob;

export const DEAD_LETTER = 'll-dead-letter';
export const ATTEMPTS = 3;

export function queueName(device: string, settings: Pick<DeviceSettings, 'threads'>): string {
  return `ll-measure-${device}-t${settings.threads}`;
}

export interface QueueOptions {
  /** seconds an agent may hold a job before it is given to another */
  leaseSeconds?: number;
  /** how often expired leases are looked for (pg-boss maintenance) */
  maintenanceSeconds?: number;
  /** connections of this process's pool */
  max?: number;
  /** false: this process never runs pg-boss maintenance (many simulated agents in one process) */
  supervise?: boolean;
}

const loadPgBoss = lazyRequire<typeof PgBoss>('pg-boss');

export class FleetQueue {
  private constructor(readonly boss: PgBoss, private readonly o: Required<Omit<QueueOptions, 'max' | 'supervise'>>) {}

  static async open(url: string, o: QueueOptions = {}): Promise<FleetQueue> {
    const opts = { leaseSeconds: o.leaseSeconds ?? 300, maintenanceSeconds: o.maintenanceSeconds ?? 15 };
    const boss = new (loadPgBoss())({ connectionString: url, max: o.max ?? 4, maintenanceIntervalSeconds: opts.maintenanceSeconds, supervise: o.supervise ?? true, schedule: false });
    // pg-boss reports connection trouble as events; the call that needs the connection fails clearly
    boss.on('error', () => undefined);
    try {
      await boss.start();
      if (!(await boss.getQueue(DEAD_LETTER))) await boss.createQueue(DEAD_LETTER).catch(ignoreExists);
    } catch (e) {
      await boss.stop({ graceful: false }).catch(() => undefined);
      throw new UserError(`cannot start the job queue: ${(e as Error).message}`, '--store');
    }
    return new FleetQueue(boss, opts);
  }

  async ensureQueue(name: string): Promise<void> {
    if (await this.boss.getQueue(name)) return;
    await this.boss
      .createQueue(name, { name, retryLimit: ATTEMPTS - 1, retryDelay: 0, expireInSeconds: this.o.leaseSeconds, deadLetter: DEAD_LETTER })
      .catch(ignoreExists);
  }

  async enqueue(name: string, jobs: MeasureJob[]): Promise<void> {
    await this.ensureQueue(name);
    for (let i = 0; i < jobs.length; i += 500) {
      await this.boss.insert(jobs.slice(i, i + 500).map((data) => ({ name, data, retryLimit: ATTEMPTS - 1, expireInSeconds: this.o.leaseSeconds, deadLetter: DEAD_LETTER })));
    }
  }

  async fetch(name: string): Promise<{ id: string; data: MeasureJob } | undefined> {
    const [job] = await this.boss.fetch<MeasureJob>(name, { batchSize: 1 });
    return job ? { id: job.id, data: job.data } : undefined;
  }

  complete(name: string, id: string): Promise<void> {
    return this.boss.complete(name, id);
  }

  fail(name: string, id: string, message: string): Promise<void> {
    return this.boss.fail(name, id, { message });
  }

  /** jobs per state of a queue: created (waiting), retry, active, completed, failed */
  async counts(name: string): Promise<Record<string, number>> {
    const r = await this.boss.getDb().executeSql(`SELECT state, count(*)::int AS n FROM pgboss.job WHERE name = $1 GROUP BY state`, [name]);
    return Object.fromEntries(r.rows.map((x: { state: string; n: number }) => [x.state, x.n]));
  }

  /** plan indices of a dataset in jobs of this queue that are waiting, retrying or running */
  async queuedIdxs(name: string, dataset: string): Promise<number[]> {
    const r = await this.boss.getDb().executeSql(`SELECT data->'idxs' AS idxs FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active') AND data->>'dataset' = $2`, [name, dataset]);
    return r.rows.flatMap((x: { idxs: number[] }) => x.idxs);
  }

  async queues(): Promise<string[]> {
    return (await this.boss.getQueues()).map((q) => q.name).filter((n) => n.startsWith('ll-measure-'));
  }

  /** the dead-letter list: each job's dataset, configurations and last error */
  async deadLetters(): Promise<Array<{ job: string; dataset?: string; idxs?: number[]; error: string }>> {
    const r = await this.boss.getDb().executeSql(`SELECT data, output FROM pgboss.job WHERE name = $1 ORDER BY created_on`, [DEAD_LETTER]);
    return r.rows.map((x: { data: MeasureJob; output: unknown }) => ({
      job: x.data.kind === 'model' ? `model ${x.data.name}` : `${x.data.dataset} [${x.data.idxs.join(',')}]`,
      ...(x.data.kind === 'model' ? {} : { dataset: x.data.dataset, idxs: x.data.idxs }),
      error: errorText(x.output),
    }));
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }
}

function errorText(output: unknown): string {
  const o = output as { message?: string; value?: { message?: string } } | null;
  return o?.message ?? o?.value?.message ?? JSON.stringify(output ?? null);
}

function ignoreExists(e: Error): void {
  if (!/already exists|duplicate key/i.test(e.message)) throw e;
}
