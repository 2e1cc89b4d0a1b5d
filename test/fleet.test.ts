import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineLock, runAgent, runJob } from '../src/fleet/agent.js';
import { enqueueDataset } from '../src/fleet/enqueue.js';
import { FleetStore } from '../src/fleet/pg-store.js';
import { DEAD_LETTER, FleetQueue, queueName } from '../src/fleet/queue.js';
import { getRuntime } from '../src/runtimes/index.js';
import { UserError } from '../src/util/errors.js';
import { cli, cliChild, tempDir } from './helpers.js';

/**
 * The fleet needs a PostgreSQL server. `.ci/run` starts one (scripts/start-test-postgres.sh) and
 * sets LATENCYLAB_TEST_PG; without it these tests are skipped, and say so.
 */
const BASE = process.env.LATENCYLAB_TEST_PG;
if (!BASE) console.warn('fleet tests skipped: no PostgreSQL server (start one with: eval "$(sudo bash scripts/start-test-postgres.sh)", then npm test)');

describe.skipIf(!BASE)('profiling fleet on PostgreSQL', () => {
  // a database of its own per run: leftover jobs of other runs never reach these agents
  const dbName = `ll_test_${process.pid}_${Date.now()}`;
  let url = '';
  const admin = () => new pg.Client({ connectionString: BASE });

  beforeAll(async () => {
    const c = admin();
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    const u = new URL(BASE!);
    u.pathname = `/${dbName}`;
    url = u.toString();
  });
  afterAll(async () => {
    const c = admin();
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });

  const countRows = async (store: FleetStore, dataset: string) =>
    (await store.pool.query('SELECT count(*)::int AS n, count(DISTINCT idx)::int AS d FROM ll_samples WHERE dataset = $1', [dataset])).rows[0] as { n: number; d: number };

  it('kill -9 of an agent mid-job: the job goes to another agent after its lease, the dataset ends with exactly the planned samples', async () => {
    const store = await FleetStore.open(url);
    const q = await FleetQueue.open(url, { leaseSeconds: 2, maintenanceSeconds: 1 });
    const r = await enqueueDataset(store, q, { module: 'linear', device: 'ort-cpu', samples: 24, name: 'kill9', simulateMs: 1500 });
    expect(r.jobs).toBe(3);
    const child = cliChild(['agent', '--store', url, '--machine', 'victim', '--lease', '2'], path.join(tempDir(), 'x.db'));
    // wait until the child holds a job, then kill it without a chance to clean up
    const t0 = Date.now();
    for (;;) {
      const active = (await q.counts(r.queues[0]!)).active ?? 0;
      if (active > 0) break;
      if (Date.now() - t0 > 60_000) throw new Error('the agent never started a job');
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill('SIGKILL');
    const survivor = await runAgent({ url, device: 'ort-cpu', threads: 1, machine: 'survivor', idleExitMs: 6000, pollMs: 200, maintenanceSeconds: 1 });
    expect(survivor.failed).toBe(0);
    expect(await countRows(store, 'kill9')).toEqual({ n: 24, d: 24 });
    const retried = await store.pool.query(`SELECT max(retry_count)::int AS m FROM pgboss.job WHERE name = $1 AND data->>'dataset' = 'kill9'`, [r.queues[0]]);
    expect(retried.rows[0].m, 'the killed agent held a job that had to be retried').toBeGreaterThanOrEqual(1);
    expect(await q.deadLetters()).toEqual([]);
    await q.close();
    await store.close();
  }, 120_000);

  it('an agent that dies after writing its samples but before acknowledging stores nothing twice', async () => {
    const store = await FleetStore.open(url);
    const q = await FleetQueue.open(url, { leaseSeconds: 1, maintenanceSeconds: 1 });
    const r = await enqueueDataset(store, q, { module: 'linear', device: 'ort-cpu', samples: 8, name: 'ackloss', simulateMs: 10 });
    const job = await q.fetch(r.queues[0]!);
    expect(job).toBeDefined();
    const env = { cpuModel: 'test' } as never;
    expect(await runJob(store, getRuntime('ort-cpu'), job!.data, 'dies-before-ack', env)).toBe(8);
    // no complete(): the lease runs out and the job is measured again by another agent
    const other = await runAgent({ url, device: 'ort-cpu', threads: 1, machine: 'other', idleExitMs: 4000, pollMs: 200, maintenanceSeconds: 1 });
    expect(other.jobs).toBe(1);
    expect(other.stored).toBe(0);
    expect(await countRows(store, 'ackloss')).toEqual({ n: 8, d: 8 });
    await q.close();
    await store.close();
  }, 60_000);

  it('a job that fails 3 times goes to the dead-letter list with its error', async () => {
    const q = await FleetQueue.open(url, { leaseSeconds: 5, maintenanceSeconds: 1 });
    const name = queueName('ort-cpu', { threads: 1 });
    await q.enqueue(name, [{ dataset: 'no-such-dataset', idxs: [0, 1], enqueuedAt: Date.now() }]);
    const a = await runAgent({ url, device: 'ort-cpu', threads: 1, machine: 'dlq', idleExitMs: 2500, pollMs: 200 });
    expect(a.failed).toBe(3);
    const dead = await q.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ dataset: 'no-such-dataset', idxs: [0, 1] });
    expect(dead[0]!.error).toMatch(/dataset 'no-such-dataset' is not in the fleet store/);
    expect(((await q.counts(DEAD_LETTER)).created ?? 0)).toBe(1);
    await q.close();
  }, 60_000);

  it('one measuring agent per machine: a second is refused with a clear message', async () => {
    const store = await FleetStore.open(url);
    const held = await machineLock(store, 'box-1');
    await expect(machineLock(store, 'box-1')).rejects.toThrow(/another agent is measuring on machine 'box-1'/);
    await expect(machineLock(store, 'box-1')).rejects.toBeInstanceOf(UserError);
    const other = await machineLock(store, 'box-2');
    other.release();
    held.release();
    await store.close();
  });

  it('CLI: profile --fleet queues, a real agent measures, fleet shows it, pull copies it into SQLite; running profile --fleet again queues nothing new', () => {
    const db = path.join(tempDir(), 'local.db');
    const p = cli(['profile', '-m', 'linear', '-n', '8', '--fleet', '--store', url, '--name', 'cli-fleet', '--min-repeats', '3', '--max-time-ms', '30'], db);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/planned 8 configurations.*queued 1 jobs/);
    const again = cli(['profile', '-m', 'linear', '-n', '8', '--fleet', '--store', url, '--name', 'cli-fleet', '--min-repeats', '3', '--max-time-ms', '30'], db);
    expect(again.stdout).toMatch(/queued 0 jobs/);
    const a = cli(['agent', '--store', url, '--machine', 'cli-box', '--max-jobs', '1'], db);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/1 jobs done, 8 samples stored/);
    const f = cli(['fleet', '--store', url], db);
    expect(f.stdout).toMatch(/cli-fleet\s+ort-cpu\s+8\s+8/);
    const pull = cli(['fleet', 'pull', '--dataset', 'cli-fleet', '--store', url], db);
    expect(pull.code, pull.stderr).toBe(0);
    expect(cli(['datasets'], db).stdout).toMatch(/cli-fleet\s+linear\s+ort-cpu\s+random\s+8\s+8/);
    // the same commands on the fleet store: datasets lists it, export pulls it into a fresh local store first
    expect(cli(['datasets', '--store', url], db).stdout).toMatch(/cli-fleet\s+ort-cpu\s+8\s+8/);
    const fresh = path.join(tempDir(), 'fresh.db');
    const csv = cli(['export', '--dataset', 'cli-fleet', '--store', url], fresh);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.trim().split('\n')).toHaveLength(9);
    expect(csv.stderr).toMatch(/pulled 8 new samples/);
    // a whole ONNX model as a job: stored by hash, timed by an agent, shown by `fleet`
    const dir = tempDir();
    expect(cli(['generate', '--family', 'squeezenet', '-o', dir], db).code).toBe(0);
    const onnx = readdirSync(dir).find((f) => f.endsWith('.onnx'))!;
    const mq = cli(['measure', path.join(dir, onnx), '--fleet', '--store', url], db);
    expect(mq.code, mq.stderr).toBe(0);
    expect(mq.stdout).toMatch(/queued on ll-measure-ort-cpu-t1/);
    const ma = cli(['agent', '--store', url, '--machine', 'cli-box', '--max-jobs', '1'], db);
    expect(ma.stdout, ma.stderr).toMatch(/1 jobs done, 1 samples stored/);
    expect(cli(['fleet', '--store', url], db).stdout).toMatch(new RegExp(`whole models:[\\s\\S]*${onnx.replace('.', '\\.')}\\s+ort-cpu\\s+1\\s+\\d`));
    expect(cli(['measure', path.join(dir, onnx), '--fleet', '--store', url], db).stdout).toMatch(/already timed/);
    // NAS candidates as jobs: queued once, collected when an agent has timed them
    expect(cli(['measure-archs', '--archs', '55', '--fleet', '--store', url], db).stdout).toMatch(/1 of 1 not timed yet/);
    expect(cli(['measure-archs', '--archs', '55', '--fleet', '--store', url], db).stdout).toMatch(/1 of 1 not timed yet/);
    const na = cli(['agent', '--store', url, '--machine', 'cli-box', '--max-jobs', '1', '--idle-exit', '2'], db);
    expect(na.stdout, na.stderr).toMatch(/1 jobs done/);
    // asking twice queued it once: nothing is left waiting
    expect(cli(['fleet', '--store', url], db).stdout).toMatch(/ll-measure-ort-cpu-t1\s+0\s+0\s+0\s+\d+/);
    const ref = path.join(dir, 'ref.csv');
    const got = cli(['measure-archs', '--archs', '55', '--fleet', '--store', url, '--out', ref], db);
    expect(got.stdout).toMatch(/all 1 timed by the fleet/);
    expect(readFileSync(ref, 'utf8')).toMatch(/^arch,latency_ms\n55,\d/);
    const bad = cli(['agent', '--store', 'mysql://x'], db);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--store: expected a PostgreSQL URL/);
  }, 180_000);
});
