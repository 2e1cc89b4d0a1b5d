import { createHash } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import type { Environment, PlannedConfig } from '../store/records.js';
import type { NewSample } from '../store/db.js';
import type { OnnxInput } from '../runtimes/ort.js';
import { UserError } from '../util/errors.js';
import { lazyRequire } from '../util/lazy.js';

/**
 * The shared store of a profiling fleet, on PostgreSQL: datasets and their plans (as the SQLite
 * store keeps them), samples keyed by (dataset, idx) — so a configuration measured twice (a job
 * retried after its agent died between writing and acknowledging) is stored once — and the agents
 * with their environment and heartbeat. The job queue itself is pg-boss, in the same database.
 */
export interface FleetDataset {
  name: string;
  module: string;
  device: string;
  spec: Record<string, unknown>;
  planned: number;
  createdAt: string;
}

export interface FleetSample extends Omit<NewSample, 'envId'> {
  env: Environment;
  agent: string;
}

export interface AgentRow {
  id: string;
  host: string;
  machine: string;
  queue: string;
  env: Environment | null;
  startedAt: string;
  lastSeen: string;
  jobsDone: number;
  samplesStored: number;
  state: string;
  load1: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ll_datasets (
  name text PRIMARY KEY, module text NOT NULL, device text NOT NULL, spec jsonb NOT NULL,
  planned integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ll_planned (
  dataset text NOT NULL REFERENCES ll_datasets(name) ON DELETE CASCADE, idx integer NOT NULL,
  config jsonb NOT NULL, PRIMARY KEY (dataset, idx));
CREATE TABLE IF NOT EXISTS ll_samples (
  dataset text NOT NULL REFERENCES ll_datasets(name) ON DELETE CASCADE, idx integer NOT NULL,
  sample jsonb NOT NULL, agent text NOT NULL, measured_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, idx));
CREATE TABLE IF NOT EXISTS ll_models (
  hash text PRIMARY KEY, name text NOT NULL, bytes bytea NOT NULL, inputs jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ll_model_runs (
  hash text NOT NULL REFERENCES ll_models(hash) ON DELETE CASCADE, device text NOT NULL, threads integer NOT NULL,
  result jsonb NOT NULL, agent text NOT NULL, measured_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (hash, device, threads));
CREATE TABLE IF NOT EXISTS ll_agents (
  id text PRIMARY KEY, host text NOT NULL, machine text NOT NULL, queue text NOT NULL, env jsonb,
  started_at timestamptz NOT NULL DEFAULT now(), last_seen timestamptz NOT NULL DEFAULT now(),
  jobs_done integer NOT NULL DEFAULT 0, samples_stored integer NOT NULL DEFAULT 0, state text NOT NULL DEFAULT 'running');
ALTER TABLE ll_agents ADD COLUMN IF NOT EXISTS load1 real;
`;

export function checkStoreUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UserError(`expected a PostgreSQL URL like postgres://user:password@host:5432/db, got '${url}'`, '--store');
  return url;
}

const loadPg = lazyRequire<typeof pg>('pg');

export class FleetStore {
  readonly pool: pg.Pool;
  private constructor(readonly url: string, max: number) {
    this.pool = new (loadPg().Pool)({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
    // an idle client losing its server must not crash the process: the next query reports it
    this.pool.on('error', () => undefined);
  }

  static async open(url: string, o: { max?: number } = {}): Promise<FleetStore> {
    const s = new FleetStore(checkStoreUrl(url), o.max ?? 4);
    try {
      // one schema creation at a time: two agents starting together would race on CREATE TABLE
      await s.withClient(async (c) => {
        await c.query('SELECT pg_advisory_lock(7294001)');
        try {
          await c.query(SCHEMA);
        } finally {
          await c.query('SELECT pg_advisory_unlock(7294001)');
        }
      });
    } catch (e) {
      await s.close();
      throw new UserError(`cannot use the fleet store: ${(e as Error).message}`, url.replace(/:[^:@/]*@/, ':***@'));
    }
    return s;
  }

  async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async dataset(name: string): Promise<FleetDataset | undefined> {
    const r = await this.pool.query('SELECT name, module, device, spec, planned, created_at FROM ll_datasets WHERE name = $1', [name]);
    const d = r.rows[0];
    return d && { name: d.name, module: d.module, device: d.device, spec: d.spec, planned: d.planned, createdAt: new Date(d.created_at).toISOString() };
  }

  /** creates the dataset and its whole plan in one transaction; false when it already exists with this spec */
  async createDataset(d: Omit<FleetDataset, 'planned' | 'createdAt'>, configs: PlannedConfig[]): Promise<boolean> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        const ins = await c.query('INSERT INTO ll_datasets (name, module, device, spec, planned) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING', [d.name, d.module, d.device, JSON.stringify(d.spec), configs.length]);
        if (ins.rowCount === 0) {
          await c.query('ROLLBACK');
          const existing = await this.dataset(d.name);
          if (canonical(existing?.spec) !== canonical(JSON.parse(JSON.stringify(d.spec)))) {
            throw new UserError(`dataset '${d.name}' already exists in the fleet store with a different spec; pass --name to start another`, 'dataset');
          }
          return false;
        }
        for (let i = 0; i < configs.length; i += 500) {
          const part = configs.slice(i, i + 500);
          const values = part.map((_, j) => `($1, $${2 * j + 2}, $${2 * j + 3})`).join(',');
          await c.query(`INSERT INTO ll_planned (dataset, idx, config) VALUES ${values}`, [d.name, ...part.flatMap((cfg, j) => [i + j, JSON.stringify(cfg)])]);
        }
        await c.query('COMMIT');
        return true;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /** planned configurations without a stored sample, in plan order */
  async pending(name: string): Promise<Array<PlannedConfig & { idx: number }>> {
    const r = await this.pool.query(
      'SELECT p.idx, p.config FROM ll_planned p WHERE p.dataset = $1 AND NOT EXISTS (SELECT 1 FROM ll_samples s WHERE s.dataset = p.dataset AND s.idx = p.idx) ORDER BY p.idx',
      [name],
    );
    return r.rows.map((x) => ({ idx: x.idx, ...x.config }));
  }

  async planned(name: string, idxs: number[]): Promise<Array<PlannedConfig & { idx: number }>> {
    const r = await this.pool.query('SELECT idx, config FROM ll_planned WHERE dataset = $1 AND idx = ANY($2::int[]) ORDER BY idx', [name, idxs]);
    return r.rows.map((x) => ({ idx: x.idx, ...x.config }));
  }

  /** stores samples once: a configuration that already has one keeps it; returns how many were new */
  async insertSamples(dataset: string, samples: FleetSample[]): Promise<number> {
    if (!samples.length) return 0;
    const values = samples.map((_, j) => `($1, $${3 * j + 2}, $${3 * j + 3}, $${3 * j + 4})`).join(',');
    const r = await this.pool.query(`INSERT INTO ll_samples (dataset, idx, sample, agent) VALUES ${values} ON CONFLICT (dataset, idx) DO NOTHING`, [
      dataset,
      ...samples.flatMap((s) => [s.idx, JSON.stringify(s), s.agent]),
    ]);
    return r.rowCount ?? 0;
  }

  async samples(dataset: string): Promise<FleetSample[]> {
    const r = await this.pool.query('SELECT sample FROM ll_samples WHERE dataset = $1 ORDER BY idx', [dataset]);
    return r.rows.map((x) => x.sample);
  }

  async progress(): Promise<Array<{ name: string; device: string; planned: number; stored: number; lastMinute: number }>> {
    const r = await this.pool.query(`
      SELECT d.name, d.device, d.planned, count(s.idx)::int AS stored,
             count(s.idx) FILTER (WHERE s.measured_at > now() - interval '1 minute')::int AS last_minute
      FROM ll_datasets d LEFT JOIN ll_samples s ON s.dataset = d.name GROUP BY d.name ORDER BY d.created_at`);
    return r.rows.map((x) => ({ name: x.name, device: x.device, planned: x.planned, stored: x.stored, lastMinute: x.last_minute }));
  }

  /** stores a model once (by content hash) and returns its hash */
  async putModel(name: string, bytes: Uint8Array, inputs: OnnxInput[]): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 24);
    await this.pool.query('INSERT INTO ll_models (hash, name, bytes, inputs) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING', [hash, name, Buffer.from(bytes), JSON.stringify(inputs.map(({ data: _d, ...i }) => i))]);
    return hash;
  }

  async model(hash: string): Promise<{ name: string; bytes: Uint8Array; inputs: OnnxInput[] } | undefined> {
    const r = await this.pool.query('SELECT name, bytes, inputs FROM ll_models WHERE hash = $1', [hash]);
    const m = r.rows[0];
    return m && { name: m.name, bytes: new Uint8Array(m.bytes), inputs: m.inputs };
  }

  /** stores a model's timing once per device setting; false when one was already stored */
  async insertModelRun(hash: string, device: string, threads: number, result: unknown, agent: string): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO ll_model_runs (hash, device, threads, result, agent) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [hash, device, threads, JSON.stringify(result), agent]);
    return (r.rowCount ?? 0) > 0;
  }

  async modelRun(hash: string, device: string, threads: number): Promise<unknown | undefined> {
    const r = await this.pool.query('SELECT result FROM ll_model_runs WHERE hash = $1 AND device = $2 AND threads = $3', [hash, device, threads]);
    return r.rows[0]?.result;
  }

  async modelRuns(): Promise<Array<{ name: string; hash: string; device: string; threads: number; latencyMs: number; createMs: number; agent: string }>> {
    const r = await this.pool.query('SELECT m.name, r.hash, r.device, r.threads, r.result, r.agent FROM ll_model_runs r JOIN ll_models m USING (hash) ORDER BY r.measured_at');
    return r.rows.map((x) => ({ name: x.name, hash: x.hash, device: x.device, threads: x.threads, latencyMs: x.result.stats.latencyMs, createMs: x.result.createMs, agent: x.agent }));
  }

  async registerAgent(a: { id: string; machine: string; queue: string; env: Environment | null }): Promise<void> {
    await this.pool.query(
      `INSERT INTO ll_agents (id, host, machine, queue, env) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET last_seen = now(), state = 'running'`,
      [a.id, os.hostname(), a.machine, a.queue, a.env && JSON.stringify(a.env)],
    );
  }

  async heartbeat(id: string, jobs: number, stored: number, state = 'running'): Promise<void> {
    // the machine's 1-minute load average with every heartbeat: a busy machine measures slow
    await this.pool.query('UPDATE ll_agents SET last_seen = now(), jobs_done = jobs_done + $2, samples_stored = samples_stored + $3, state = $4, load1 = $5 WHERE id = $1', [id, jobs, stored, state, os.loadavg()[0]]);
  }

  async agents(): Promise<AgentRow[]> {
    const r = await this.pool.query('SELECT * FROM ll_agents ORDER BY started_at');
    return r.rows.map((x) => ({
      id: x.id, host: x.host, machine: x.machine, queue: x.queue, env: x.env, startedAt: new Date(x.started_at).toISOString(),
      lastSeen: new Date(x.last_seen).toISOString(), jobsDone: x.jobs_done, samplesStored: x.samples_stored, state: x.state, load1: x.load1,
    }));
  }
}

/** JSON with object keys sorted: jsonb gives keys back in its own order */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(x ?? null);
}
