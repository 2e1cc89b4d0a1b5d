import os from 'node:os';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { GraphCost } from '../ir/graph.js';
import type { Params } from '../modules/index.js';
import type { DeviceSettings } from '../runtimes/settings.js';
import type { Environment, PlannedConfig, TimingStats } from './records.js';
import { UserError } from '../util/errors.js';

/** Default store: ./.latencylab/latencylab.db under the working directory (LATENCYLAB_DB overrides). */
export function defaultDbPath(): string {
  return process.env.LATENCYLAB_DB ?? path.join(process.cwd(), '.latencylab', 'latencylab.db');
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS environments (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  cpu_model TEXT NOT NULL, cores INTEGER NOT NULL, os TEXT NOT NULL, node TEXT NOT NULL,
  runtime TEXT NOT NULL, runtime_version TEXT NOT NULL, execution_provider TEXT NOT NULL, hostname TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  module TEXT NOT NULL,
  device TEXT NOT NULL,
  sampler TEXT NOT NULL,
  seed INTEGER NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  planned INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
-- the configurations a dataset will measure, fixed when it is created: resuming = measuring the
-- planned rows that have no sample yet, so a killed run neither repeats nor loses a sample
CREATE TABLE IF NOT EXISTS planned (
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  params_json TEXT NOT NULL,
  device_json TEXT NOT NULL,
  PRIMARY KEY (dataset_id, idx)
);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  params_json TEXT NOT NULL,
  threads INTEGER NOT NULL, opt_level TEXT NOT NULL, load_workers INTEGER NOT NULL, load_duty REAL NOT NULL,
  macs REAL NOT NULL, flops REAL NOT NULL, params REAL NOT NULL,
  input_bytes REAL NOT NULL, output_bytes REAL NOT NULL, weight_bytes REAL NOT NULL, activation_bytes REAL NOT NULL,
  intensity REAL NOT NULL, nodes INTEGER NOT NULL,
  create_ms REAL NOT NULL,
  latency_ms REAL NOT NULL,
  median_ms REAL NOT NULL, mean_ms REAL NOT NULL, min_ms REAL NOT NULL, max_ms REAL NOT NULL,
  p10_ms REAL NOT NULL, p90_ms REAL NOT NULL, std_ms REAL NOT NULL,
  n INTEGER NOT NULL, rejected INTEGER NOT NULL, rel_ci REAL NOT NULL, round_medians_json TEXT NOT NULL,
  loadavg1 REAL NOT NULL,
  env_id INTEGER NOT NULL REFERENCES environments(id),
  measured_at TEXT NOT NULL,
  UNIQUE (dataset_id, idx)
);
-- further measurements of a dataset's configurations in later passes (profile --passes): pass 0
-- is the samples row itself. A sample's latency is its quietest pass (Store.samples)
CREATE TABLE IF NOT EXISTS sample_passes (
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  pass INTEGER NOT NULL CHECK (pass >= 1),
  latency_ms REAL NOT NULL,
  ref_ms REAL,
  probe_ms REAL,
  loadavg1 REAL NOT NULL,
  measured_at TEXT NOT NULL,
  PRIMARY KEY (dataset_id, idx, pass)
);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  json TEXT NOT NULL,
  metrics_json TEXT NOT NULL,
  selected INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
-- who is profiling a dataset right now: a second profiler of the same dataset is refused
CREATE TABLE IF NOT EXISTS profiling_locks (
  dataset_name TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at TEXT NOT NULL
);
-- whole-model calibration (per-model overhead and per-kernel-group factors) per device setting
CREATE TABLE IF NOT EXISTS model_calibrations (
  key TEXT PRIMARY KEY,
  json TEXT NOT NULL,
  created_at TEXT NOT NULL
);
-- end-to-end measurements of whole ONNX models (bench:models, measure --save)
CREATE TABLE IF NOT EXISTS model_runs (
  id INTEGER PRIMARY KEY,
  collection TEXT NOT NULL,
  model TEXT NOT NULL,
  device_key TEXT NOT NULL,
  create_ms REAL NOT NULL,
  latency_ms REAL NOT NULL,
  stats_json TEXT NOT NULL,
  env_id INTEGER NOT NULL REFERENCES environments(id),
  measured_at TEXT NOT NULL,
  -- the machine probe timed just before (profile/probe.ts); null when not probed
  probe_ms REAL,
  -- measurement pass: bench:models measures every network in several passes over a shuffled list
  pass INTEGER NOT NULL DEFAULT 0,
  UNIQUE (collection, model, device_key, pass)
);
-- per-node times of whole models from the runtime's profiler (in-graph correction)
CREATE TABLE IF NOT EXISTS model_profiles (
  collection TEXT NOT NULL,
  model TEXT NOT NULL,
  device_key TEXT NOT NULL,
  nodes_json TEXT NOT NULL,
  measured_at TEXT NOT NULL,
  -- the machine probe timed just before; null when not probed
  probe_ms REAL,
  PRIMARY KEY (collection, model, device_key)
);
`;

export interface DatasetRow {
  id: number;
  name: string;
  module: string;
  device: string;
  sampler: string;
  seed: number;
  spec_json: string;
  spec_hash: string;
  planned: number;
  created_at: string;
}

export interface ModelRun {
  /** the set a measurement belongs to, e.g. 'calib' / 'val' / 'test' in bench:models */
  collection: string;
  model: string;
  /** device setting, e.g. 'ort-cpu/t1' */
  deviceKey: string;
  createMs: number;
  latencyMs: number;
  stats: unknown;
  /** the machine probe timed just before, when probed */
  probeMs?: number;
  /** measurement pass (0 when measured once) */
  pass?: number;
  /** when it was stored (epoch ms; read back from the store) */
  measuredAt?: number;
}

/** a model's per-node times from the runtime's profiler, and the machine probe timed just before */
export interface NodeProfile<T> {
  nodes: T;
  probeMs?: number;
  /** when it was stored (epoch ms) */
  measuredAt?: number;
}

export interface DatasetSummary extends DatasetRow {
  measured: number;
}

export interface SampleRow {
  id: number;
  dataset_id: number;
  idx: number;
  params_json: string;
  threads: number;
  opt_level: string;
  load_workers: number;
  load_duty: number;
  macs: number;
  flops: number;
  params: number;
  input_bytes: number;
  output_bytes: number;
  weight_bytes: number;
  activation_bytes: number;
  intensity: number;
  nodes: number;
  create_ms: number;
  /** the learning target: lowest round median (see TimingStats.latencyMs) */
  latency_ms: number;
  median_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
  p10_ms: number;
  p90_ms: number;
  std_ms: number;
  n: number;
  rejected: number;
  rel_ci: number;
  round_medians_json: string;
  loadavg1: number;
  env_id: number;
  measured_at: string;
  /** latency of the module's reference configuration in the same chunk (profile --reference), else null */
  ref_ms: number | null;
  /** the machine probe timed before the sample's chunk (profile --probe) */
  probe_ms: number | null;
  /**
   * how many times the configuration was measured (profile --passes; 1 when once): latency_ms,
   * ref_ms, probe_ms, loadavg1 and measured_at are then those of its quietest pass (quietestPass)
   */
  passes?: number;
}

/** one measurement of a configuration in a later pass (pass ≥ 1; pass 0 is the sample itself) */
export interface PassMeasurement {
  idx: number;
  pass: number;
  latency_ms: number;
  ref_ms: number | null;
  probe_ms: number | null;
  loadavg1: number;
  measured_at: string;
}

/**
 * The quietest of a configuration's measurements: the lowest latency. Interference on a shared
 * machine only ever slows a run, and a slow phase of the host can last minutes — longer than a
 * chunk, so the interleaved rounds inside one measurement do not see it — and slow small kernels far
 * more than the machine probe shows (softmax 1.4× slower for minutes while the probe moved 6 %;
 * bench:regressors' softmax training run agreed with its re-measurement within ±10 % for 28 % of
 * configurations). The lowest latency relative to the probe timed with it chose no better on
 * validation data (`node scripts/passes-study.mjs`; reports/regressors-history.md, session 26),
 * and the raw minimum does not carry the probe's own call-to-call noise. The probe and reference
 * stored with the sample are those of the chosen measurement.
 */
export function quietestPass<T extends Pick<PassMeasurement, 'latency_ms'>>(ms: readonly T[]): T {
  return ms.reduce((a, b) => (b.latency_ms < a.latency_ms ? b : a));
}

export interface PendingConfig extends PlannedConfig {
  idx: number;
}

export interface NewSample {
  idx: number;
  params: Params;
  device: DeviceSettings;
  cost: GraphCost;
  createMs: number;
  timing: TimingStats;
  loadavg1: number;
  envId: number;
  refMs?: number;
  probeMs?: number;
}

/**
 * All persistence. WAL journal + one transaction per write: a sample is either fully stored or
 * not at all, and a crash (even kill -9) loses nothing already committed.
 */
export class Store {
  readonly db: Database.Database;

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
      // stores made before the reference column
      const cols = this.db.prepare('PRAGMA table_info(samples)').all() as { name: string }[];
      if (!cols.some((c) => c.name === 'ref_ms')) this.db.exec('ALTER TABLE samples ADD COLUMN ref_ms REAL');
      if (!cols.some((c) => c.name === 'probe_ms')) this.db.exec('ALTER TABLE samples ADD COLUMN probe_ms REAL');
      const runCols = this.db.prepare('PRAGMA table_info(model_runs)').all() as Array<{ name: string }>;
      if (!runCols.some((c) => c.name === 'probe_ms')) this.db.exec('ALTER TABLE model_runs ADD COLUMN probe_ms REAL');
      if (!runCols.some((c) => c.name === 'pass')) this.migrateRunPasses();
      const profCols = this.db.prepare('PRAGMA table_info(model_profiles)').all() as Array<{ name: string }>;
      if (!profCols.some((c) => c.name === 'probe_ms')) this.db.exec('ALTER TABLE model_profiles ADD COLUMN probe_ms REAL');
    } catch (e) {
      throw new UserError(`cannot open the SQLite store: ${(e as Error).message}`, file);
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Changes whenever another connection (another latencylab process: `train`, `calibrate`) has
   * committed to the file since this one last looked: a long-running reader reloads what it
   * derived from the store then (SQLite's data_version; this connection's own writes do not count).
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** stores made before measurement passes: their runs become pass 0 (the uniqueness constraint changes, so the table is rebuilt) */
  private migrateRunPasses(): void {
    this.db.transaction(() => {
      this.db.exec('ALTER TABLE model_runs RENAME TO model_runs_before_passes');
      this.db.exec(SCHEMA);
      this.db.exec(`INSERT INTO model_runs (id, collection, model, device_key, create_ms, latency_ms, stats_json, env_id, measured_at, probe_ms, pass)
        SELECT id, collection, model, device_key, create_ms, latency_ms, stats_json, env_id, measured_at, probe_ms, 0 FROM model_runs_before_passes`);
      this.db.exec('DROP TABLE model_runs_before_passes');
    }).immediate();
  }

  environmentId(env: Environment): number {
    const hash = createHash('sha1').update(JSON.stringify(env)).digest('hex');
    const row = this.db.prepare('SELECT id FROM environments WHERE hash = ?').get(hash) as { id: number } | undefined;
    if (row) return row.id;
    return Number(
      this.db
        .prepare(
          `INSERT INTO environments (hash, cpu_model, cores, os, node, runtime, runtime_version, execution_provider, hostname)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(hash, env.cpuModel, env.cores, env.os, env.node, env.runtime, env.runtimeVersion, env.executionProvider, env.hostname).lastInsertRowid,
    );
  }

  getDataset(name: string): DatasetRow | undefined {
    return this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(name) as DatasetRow | undefined;
  }

  requireDataset(name: string): DatasetRow {
    const d = this.getDataset(name);
    if (!d) {
      const names = this.listDatasets().map((x) => x.name);
      throw new UserError(`no dataset named '${name}' in ${this.file}${names.length ? `; stored: ${names.join(', ')}` : ' (it is empty)'}`, 'dataset');
    }
    return d;
  }

  /** Creates the dataset and its whole plan in one transaction. */
  createDataset(d: { name: string; module: string; device: string; sampler: string; seed: number; spec: unknown }, configs: PlannedConfig[]): DatasetRow {
    const specJson = JSON.stringify(d.spec);
    const tx = this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare(
            `INSERT INTO datasets (name, module, device, sampler, seed, spec_json, spec_hash, planned, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(d.name, d.module, d.device, d.sampler, d.seed, specJson, specHash(specJson), configs.length, new Date().toISOString()).lastInsertRowid,
      );
      const ins = this.db.prepare('INSERT INTO planned (dataset_id, idx, params_json, device_json) VALUES (?, ?, ?, ?)');
      configs.forEach((c, i) => ins.run(id, i, JSON.stringify(c.params), JSON.stringify(c.device)));
      return id;
    });
    tx();
    return this.requireDataset(d.name);
  }

  sameSpec(ds: DatasetRow, spec: unknown): boolean {
    return ds.spec_json === JSON.stringify(spec);
  }

  deleteDataset(name: string): void {
    this.db.prepare('DELETE FROM datasets WHERE name = ?').run(name);
  }

  /** Planned configurations without a stored sample, in plan order. */
  pending(datasetId: number): PendingConfig[] {
    const rows = this.db
      .prepare(
        `SELECT p.idx, p.params_json, p.device_json FROM planned p
         WHERE p.dataset_id = ? AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.dataset_id = p.dataset_id AND s.idx = p.idx)
         ORDER BY p.idx`,
      )
      .all(datasetId) as { idx: number; params_json: string; device_json: string }[];
    return rows.map((r) => ({ idx: r.idx, params: JSON.parse(r.params_json), device: JSON.parse(r.device_json) }));
  }

  /** Adds configurations to a dataset's plan (adaptive sampling); they are measured like any pending one. */
  extendPlan(datasetId: number, configs: PlannedConfig[]): void {
    this.db.transaction(() => {
      const { next } = this.db.prepare('SELECT COALESCE(MAX(idx), -1) + 1 AS next FROM planned WHERE dataset_id = ?').get(datasetId) as { next: number };
      const ins = this.db.prepare('INSERT INTO planned (dataset_id, idx, params_json, device_json) VALUES (?, ?, ?, ?)');
      configs.forEach((c, i) => ins.run(datasetId, next + i, JSON.stringify(c.params), JSON.stringify(c.device)));
      this.db.prepare('UPDATE datasets SET planned = planned + ? WHERE id = ?').run(configs.length, datasetId);
    })();
  }

  /** The whole plan of a dataset, in plan order. */
  plannedConfigs(datasetId: number): PlannedConfig[] {
    const rows = this.db.prepare('SELECT params_json, device_json FROM planned WHERE dataset_id = ? ORDER BY idx').all(datasetId) as { params_json: string; device_json: string }[];
    return rows.map((r) => ({ params: JSON.parse(r.params_json), device: JSON.parse(r.device_json) }));
  }

  insertSample(datasetId: number, s: NewSample): void {
    const c = s.cost;
    const t = s.timing;
    this.db
      .prepare(
        `INSERT INTO samples (dataset_id, idx, params_json, threads, opt_level, load_workers, load_duty,
           macs, flops, params, input_bytes, output_bytes, weight_bytes, activation_bytes, intensity, nodes,
           create_ms, latency_ms, median_ms, mean_ms, min_ms, max_ms, p10_ms, p90_ms, std_ms, n, rejected, rel_ci,
           round_medians_json, loadavg1, env_id, measured_at, ref_ms, probe_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        datasetId, s.idx, JSON.stringify(s.params), s.device.threads, s.device.optLevel, s.device.loadWorkers, s.device.loadDuty,
        c.macs, c.flops, c.params, c.inputBytes, c.outputBytes, c.weightBytes, c.activationBytes, c.intensity, c.nodes,
        s.createMs, t.latencyMs, t.medianMs, t.meanMs, t.minMs, t.maxMs, t.p10Ms, t.p90Ms, t.stdMs, t.n, t.rejected, t.relCI,
        JSON.stringify(t.roundMediansMs), s.loadavg1, s.envId, new Date().toISOString(), s.refMs ?? null, s.probeMs ?? null,
      );
  }

  insertSamples(datasetId: number, samples: NewSample[]): void {
    this.db.transaction(() => {
      for (const s of samples) this.insertSample(datasetId, s);
    })();
  }

  /**
   * Every stored timing of a module's reference configuration on a device at these threads,
   * optimisation level and no background load (samples profiled with --reference, any dataset,
   * later passes included): how fast the quiet state of this machine is (profile's quiet gate).
   */
  referenceTimings(module: string, device: string, threads: number, optLevel: string): number[] {
    const where = `d.module = ? AND d.device = ? AND s.threads = ? AND s.opt_level = ? AND s.load_workers = 0`;
    const rows = this.db
      .prepare(
        `SELECT s.ref_ms AS ref FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE ${where} AND s.ref_ms IS NOT NULL
         UNION ALL SELECT p.ref_ms FROM sample_passes p JOIN samples s ON s.dataset_id = p.dataset_id AND s.idx = p.idx JOIN datasets d ON d.id = s.dataset_id WHERE ${where} AND p.ref_ms IS NOT NULL`,
      )
      .all(module, device, threads, optLevel, module, device, threads, optLevel) as { ref: number }[];
    return rows.map((r) => r.ref);
  }

  /** the samples of a dataset in plan order, each at its quietest pass where it was measured more than once */
  samples(datasetId: number): SampleRow[] {
    return this.atQuietestPass(datasetId, this.db.prepare('SELECT * FROM samples WHERE dataset_id = ? ORDER BY idx').all(datasetId) as SampleRow[]);
  }

  private atQuietestPass<R extends SampleRow>(datasetId: number, rows: R[]): R[] {
    const later = this.passMeasurements(datasetId);
    if (!later.length) return rows;
    const byIdx = new Map<number, PassMeasurement[]>();
    for (const m of later) {
      const ms = byIdx.get(m.idx);
      if (ms) ms.push(m);
      else byIdx.set(m.idx, [m]);
    }
    return rows.map((r) => {
      const ms = byIdx.get(r.idx);
      if (!ms) return { ...r, passes: 1 }; // every row of such a dataset says it (one CSV column for all)
      const q = quietestPass<Omit<PassMeasurement, 'idx' | 'pass'>>([r, ...ms]);
      return { ...r, latency_ms: q.latency_ms, ref_ms: q.ref_ms, probe_ms: q.probe_ms, loadavg1: q.loadavg1, measured_at: q.measured_at, passes: ms.length + 1 };
    });
  }

  /** the measurements of later passes (pass ≥ 1), by idx and pass */
  passMeasurements(datasetId: number): PassMeasurement[] {
    return this.db.prepare('SELECT idx, pass, latency_ms, ref_ms, probe_ms, loadavg1, measured_at FROM sample_passes WHERE dataset_id = ? ORDER BY idx, pass').all(datasetId) as PassMeasurement[];
  }

  /** configurations measured in pass 0 (a sample) and not yet in pass `pass`, in plan order */
  passPending(datasetId: number, pass: number): PendingConfig[] {
    const rows = this.db
      .prepare(
        `SELECT p.idx, p.params_json, p.device_json FROM planned p
         JOIN samples s ON s.dataset_id = p.dataset_id AND s.idx = p.idx
         WHERE p.dataset_id = ? AND NOT EXISTS (SELECT 1 FROM sample_passes q WHERE q.dataset_id = p.dataset_id AND q.idx = p.idx AND q.pass = ?)
         ORDER BY p.idx`,
      )
      .all(datasetId, pass) as { idx: number; params_json: string; device_json: string }[];
    return rows.map((r) => ({ idx: r.idx, params: JSON.parse(r.params_json), device: JSON.parse(r.device_json) }));
  }

  /** how many configurations pass `pass` (≥ 1) has measured */
  passCount(datasetId: number, pass: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM sample_passes WHERE dataset_id = ? AND pass = ?').get(datasetId, pass) as { n: number }).n;
  }

  /** stores one chunk of a later pass in one transaction (a crash loses at most that chunk) */
  insertPassMeasurements(datasetId: number, ms: ReadonlyArray<Omit<PassMeasurement, 'measured_at'>>): void {
    const ins = this.db.prepare('INSERT INTO sample_passes (dataset_id, idx, pass, latency_ms, ref_ms, probe_ms, loadavg1, measured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const m of ms) ins.run(datasetId, m.idx, m.pass, m.latency_ms, m.ref_ms, m.probe_ms, m.loadavg1, at);
    })();
  }

  /** samples joined with their environment, for export */
  samplesWithEnv(datasetId: number): Array<SampleRow & Record<string, unknown>> {
    return this.atQuietestPass(datasetId, this.db
      .prepare(
        `SELECT s.*, e.cpu_model, e.cores, e.os, e.node, e.runtime, e.runtime_version, e.execution_provider, e.hostname
         FROM samples s JOIN environments e ON e.id = s.env_id WHERE s.dataset_id = ? ORDER BY s.idx`,
      )
      .all(datasetId) as Array<SampleRow & Record<string, unknown>>);
  }

  listDatasets(): DatasetSummary[] {
    return this.db
      .prepare(`SELECT d.*, (SELECT COUNT(*) FROM samples s WHERE s.dataset_id = d.id) AS measured FROM datasets d ORDER BY d.id`)
      .all() as DatasetSummary[];
  }

  saveModel(datasetId: number, kind: string, json: unknown, metrics: unknown, selected: boolean): number {
    const tx = this.db.transaction(() => {
      if (selected) this.db.prepare('UPDATE models SET selected = 0 WHERE dataset_id = ?').run(datasetId);
      return Number(
        this.db
          .prepare('INSERT INTO models (dataset_id, kind, json, metrics_json, selected, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(datasetId, kind, JSON.stringify(json), JSON.stringify(metrics), selected ? 1 : 0, new Date().toISOString()).lastInsertRowid,
      );
    });
    return tx();
  }

  /**
   * Takes the profiling lock of a dataset for this process. Returns the holder when another live
   * process on this machine (or any process on another machine) holds it; a lock left by a
   * process that no longer exists is taken over.
   */
  acquireProfilingLock(datasetName: string): { pid: number; host: string; started_at: string } | undefined {
    const host = os.hostname();
    const tx = this.db.transaction(() => {
      const held = this.db.prepare('SELECT pid, host, started_at FROM profiling_locks WHERE dataset_name = ?').get(datasetName) as { pid: number; host: string; started_at: string } | undefined;
      if (held && !(held.host === host && (held.pid === process.pid || !processAlive(held.pid)))) return held;
      this.db.prepare('INSERT OR REPLACE INTO profiling_locks (dataset_name, pid, host, started_at) VALUES (?, ?, ?, ?)').run(datasetName, process.pid, host, new Date().toISOString());
      return undefined;
    });
    return tx.immediate();
  }

  releaseProfilingLock(datasetName: string): void {
    this.db.prepare('DELETE FROM profiling_locks WHERE dataset_name = ? AND pid = ? AND host = ?').run(datasetName, process.pid, os.hostname());
  }

  saveCalibration(key: string, json: unknown): void {
    this.db.prepare('INSERT OR REPLACE INTO model_calibrations (key, json, created_at) VALUES (?, ?, ?)').run(key, JSON.stringify(json), new Date().toISOString());
  }

  /** forgets every calibration stored under keys starting with `prefix` */
  deleteCalibrations(prefix: string): void {
    this.db.prepare('DELETE FROM model_calibrations WHERE substr(key, 1, ?) = ?').run(prefix.length, prefix);
  }

  calibration(key: string): string | undefined {
    return (this.db.prepare('SELECT json FROM model_calibrations WHERE key = ?').get(key) as { json: string } | undefined)?.json;
  }

  /** stores one end-to-end model measurement; a repeat of (collection, model, device) is ignored */
  saveModelRun(r: ModelRun, envId: number): void {
    this.db
      .prepare('INSERT OR IGNORE INTO model_runs (collection, model, device_key, create_ms, latency_ms, stats_json, env_id, measured_at, probe_ms, pass) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.collection, r.model, r.deviceKey, r.createMs, r.latencyMs, JSON.stringify(r.stats), envId, new Date().toISOString(), r.probeMs ?? null, r.pass ?? 0);
  }

  modelRuns(collection: string, deviceKey: string): ModelRun[] {
    return this.readModelRuns('SELECT * FROM model_runs WHERE collection = ? AND device_key = ? ORDER BY id', collection, deviceKey);
  }

  /** every collection's runs of a device setting (to follow the machine state across them) */
  deviceModelRuns(deviceKey: string): ModelRun[] {
    return this.readModelRuns('SELECT * FROM model_runs WHERE device_key = ? ORDER BY id', deviceKey);
  }

  private readModelRuns(sql: string, ...args: string[]): ModelRun[] {
    const rows = this.db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      collection: r.collection as string, model: r.model as string, deviceKey: r.device_key as string,
      createMs: r.create_ms as number, latencyMs: r.latency_ms as number, stats: JSON.parse(r.stats_json as string) as unknown,
      ...(r.probe_ms != null ? { probeMs: r.probe_ms as number } : {}),
      pass: r.pass as number,
      ...epochMs(r.measured_at),
    }));
  }

  saveNodeProfile(collection: string, model: string, deviceKey: string, nodes: unknown, probeMs?: number): void {
    this.db
      .prepare('INSERT OR IGNORE INTO model_profiles (collection, model, device_key, nodes_json, measured_at, probe_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(collection, model, deviceKey, JSON.stringify(nodes), new Date().toISOString(), probeMs ?? null);
  }

  nodeProfiles<T>(collection: string, deviceKey: string): Map<string, NodeProfile<T>> {
    const rows = this.db.prepare('SELECT model, nodes_json, probe_ms, measured_at FROM model_profiles WHERE collection = ? AND device_key = ?').all(collection, deviceKey) as Array<{ model: string; nodes_json: string; probe_ms: number | null; measured_at: unknown }>;
    return new Map(rows.map((r) => [r.model, { nodes: JSON.parse(r.nodes_json) as T, ...(r.probe_ms != null ? { probeMs: r.probe_ms } : {}), ...epochMs(r.measured_at) }]));
  }

  /** forgets the per-node profiles of a collection and device setting (to profile them again) */
  deleteNodeProfiles(collection: string, deviceKey: string): number {
    return this.db.prepare('DELETE FROM model_profiles WHERE collection = ? AND device_key = ?').run(collection, deviceKey).changes;
  }

  selectedModel(datasetId: number): { id: number; kind: string; json: string; metrics_json: string } | undefined {
    return this.db
      .prepare('SELECT id, kind, json, metrics_json FROM models WHERE dataset_id = ? AND selected = 1 ORDER BY id DESC LIMIT 1')
      .get(datasetId) as { id: number; kind: string; json: string; metrics_json: string } | undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function specHash(json: string): string {
  return createHash('sha1').update(json).digest('hex').slice(0, 12);
}

/** a stored ISO time as `{ measuredAt }` in epoch ms (nothing when missing or unreadable) */
function epochMs(iso: unknown): { measuredAt?: number } {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? { measuredAt: t } : {};
}
