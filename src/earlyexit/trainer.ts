import { execFile, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadModel, predictBatch, type HeadSnapshot, type HeadSpec } from './head-model.js';
import { writeRoundFile } from './round-file.js';

/** A training or calibration example as the trainer needs it: pooled features per cut passed, and the teacher's probabilities. */
export interface RoundRecord {
  features: Array<Float32Array | undefined>;
  teacher: Float32Array;
}

/** One head's share of a training round. */
export interface HeadJob {
  /** identifies the head across rounds (its optimiser state lives with the trainer) */
  key: string;
  spec: HeadSpec;
  /** the cut whose features it reads */
  cut: number;
  /** ids of the records to train on this round */
  train: number[];
  /** ids of the records to predict with the new weights (the calibration records' views) */
  eval?: number[];
}

/**
 * A training round. `records` holds every record the engine still keeps (its windows), by id; a
 * trainer process receives each record once, the first round it is live, and forgets records once
 * they leave — so a round moves only what is new since the last one, not the round's data
 * (sending a whole round, ~30 MB, cost ~200 ms of the serving thread).
 */
export interface TrainingRound {
  records: Map<number, RoundRecord>;
  heads: HeadJob[];
  options: RoundOptions;
}

export interface TrainingResult {
  key: string;
  snapshot: HeadSnapshot;
  /** eval.length × classes probabilities, in the order of `eval` */
  evalProbs?: Float32Array;
}

export interface RoundOptions {
  epochs: number;
  batchSize: number;
}

/**
 * Where cache heads train. 'process' (the default for an engine): a child process, so a server's
 * request thread never runs a minibatch; 'thread': in this process, yielding to the event loop
 * between minibatches (tests of the head itself, the offline baseline).
 */
export interface HeadTrainer {
  readonly kind: 'thread' | 'process';
  /** a trainer process's CPU scheduling (absent on a thread) */
  readonly policy?: 'idle' | 'nice';
  train(round: TrainingRound): Promise<TrainingResult[]>;
  /** CPU seconds spent on training so far (the trainer process's own; on a thread, time inside rounds) */
  cpuSeconds(): number;
  /** resident memory of the trainer process, bytes (0 on a thread: it is the caller's) */
  rssBytes(): number;
  close(): Promise<void>;
}

/** Runs one round against a set of head models and the records the trainer holds. Shared by both trainers. */
export async function runRound(models: Map<string, HeadModel>, records: Map<number, RoundRecord>, heads: HeadJob[], o: RoundOptions & { yieldEvery?: number }): Promise<TrainingResult[]> {
  const out: TrainingResult[] = [];
  for (const j of heads) {
    const { inDim, classes } = j.spec;
    const rows = j.train.map((id) => records.get(id)).filter((r): r is RoundRecord => r?.features[j.cut] !== undefined);
    if (!rows.length) continue;
    let m = models.get(j.key);
    if (!m) models.set(j.key, (m = new HeadModel(j.spec)));
    const xs = new Float32Array(rows.length * inDim);
    const targets = new Float32Array(rows.length * classes);
    rows.forEach((r, i) => {
      xs.set(r.features[j.cut]!.subarray(0, inDim), i * inDim);
      targets.set(r.teacher.subarray(0, classes), i * classes);
    });
    const snapshot = await m.fit(xs, targets, rows.length, o);
    const r: TrainingResult = { key: j.key, snapshot };
    if (j.eval?.length) {
      // rows whose record or features are missing (not received) come back as NaN
      const have = j.eval.map((id) => records.get(id)?.features[j.cut]);
      const rowsIn = have.filter((f): f is Float32Array => f !== undefined);
      const ex = new Float32Array(rowsIn.length * inDim);
      rowsIn.forEach((f, i) => ex.set(f.subarray(0, inDim), i * inDim));
      const probs = rowsIn.length ? await predictBatch(snapshot, j.spec, ex, rowsIn.length) : new Float32Array(0);
      r.evalProbs = new Float32Array(j.eval.length * classes).fill(NaN);
      let k = 0;
      have.forEach((f, i) => {
        if (f) r.evalProbs!.set(probs.subarray(k * classes, ++k * classes), i * classes);
      });
    }
    out.push(r);
  }
  return out;
}

export class InThreadTrainer implements HeadTrainer {
  readonly kind = 'thread';
  private readonly models = new Map<string, HeadModel>();
  private spentMs = 0;

  async train(round: TrainingRound): Promise<TrainingResult[]> {
    const t = performance.now();
    try {
      return await runRound(this.models, round.records, round.heads, { ...round.options, yieldEvery: 1 });
    } finally {
      this.spentMs += performance.now() - t;
    }
  }

  cpuSeconds(): number {
    return this.spentMs / 1000;
  }

  rssBytes(): number {
    return 0;
  }

  async close(): Promise<void> {
    for (const m of this.models.values()) m.dispose();
    this.models.clear();
  }
}

/** the trainer process's nice value (19 = lowest priority) */
export const TRAINER_NICE = 19;

/**
 * V8 runs the trainer single-threaded: no parallel GC or background compiler threads, so the
 * trainer occupies one CPU at most. With V8's helper threads, its garbage collections ran in
 * bursts on both CPUs of a 2-core VM, and although every trainer thread was SCHED_IDLE the HTTP
 * server and its client waited behind them for up to a scheduler tick (`perf sched timehist`:
 * runnable 2–7 ms while trainer threads ran; session 52): the 1-client tail.
 */
export const TRAINER_EXEC_ARGV = ['--single-threaded'];

/**
 * What crosses the IPC channel: the round itself goes through a file (round-file.ts). Writes to the channel's
 * pipe block until the trainer reads them, 64 KiB at a time; a trainer at nice 19 on a busy
 * machine is scheduled rarely, and a 5 MB round then held the serving thread for up to seconds
 * (profiled: 2.2 s of 6,000 requests in writev). A file in memory-backed /dev/shm takes ~5 ms.
 */
export type TrainerRequest = { id: number; file: string };

export type TrainerReply = { id: number; results?: TrainingResult[]; error?: string; cpuMicros: number; rss: number };

/**
 * A child process that holds the heads' tfjs state and trains them on request (messages use
 * structured-clone serialisation, so typed arrays cross as typed arrays). It is started on the
 * first round and ends with its parent (the IPC channel is its lifeline). If it dies, the round in
 * flight fails and the next round starts a fresh one (the heads then restart from new weights).
 */
export class ProcessTrainer implements HeadTrainer {
  readonly kind = 'process';
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: TrainingResult[]) => void; reject: (e: Error) => void }>();
  private cpuMicros = 0;
  private rss = 0;
  private schedPolicy: 'idle' | 'nice' = 'nice';
  /** the trainer's CPU scheduling: SCHED_IDLE when chrt could set it, else nice 19 alone */
  get policy(): 'idle' | 'nice' {
    return this.schedPolicy;
  }
  /** ids of the records the current trainer process holds */
  private sent = new Set<number>();
  /** where rounds are handed over (memory-backed when the system has /dev/shm) */
  private dir?: string;
  /** removes `dir`; also registered for process exit until close() */
  private removeDir?: () => void;

  private start(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    // from the TypeScript sources (tests, tsx) the entry is a .ts file that needs tsx's loader
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(`./trainer-process.${fromSource ? 'ts' : 'js'}`, import.meta.url));
    this.sent = new Set();
    const child = fork(entry, [], { serialization: 'advanced', execArgv: [...(fromSource ? ['--import', 'tsx'] : []), ...TRAINER_EXEC_ARGV], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: TrainerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.cpuMicros = m.cpuMicros;
      this.rss = m.rss;
      if (!this.pending.size) this.child?.channel?.unref();
      if (m.error !== undefined) p.reject(new Error(`cache-head trainer: ${m.error}`));
      else p.resolve(m.results!);
    });
    child.on('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`cache-head trainer process ended (${signal ?? `exit code ${code}`})`));
      this.pending.clear();
    });
    // lowest CPU priority: training takes the CPU the server and its clients leave idle (on a busy
    // 2-core machine at normal priority it cost the server a third of its throughput, measured)
    try {
      if (child.pid) setPriority(child.pid, TRAINER_NICE);
    } catch {
      // not permitted here: train at normal priority
    }
    // and on Linux the SCHED_IDLE policy, which nice 19 is not: the kernel places a waking task on
    // a CPU that runs only SCHED_IDLE tasks as if it were idle. At nice 19 a waking HTTP client
    // found no idle CPU beside the server and the trainer, and took the server's: profiled under
    // load on 2 cores, writev of the responses (time the server was preempted in it) grew from
    // 0.10 to 0.30 ms a request, as much as caching saved (scratch/prof-serve.mjs, 19k requests).
    if (child.pid && process.platform === 'linux') {
      execFile('chrt', ['--idle', '--all-tasks', '--pid', '0', String(child.pid)], (err) => (this.schedPolicy = err ? 'nice' : 'idle'));
    }
    // a process waiting for nothing but an idle trainer should still be able to exit; the channel
    // is held open (ref) only while a round is in flight
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  train(round: TrainingRound): Promise<TrainingResult[]> {
    const child = this.start();
    const id = this.nextId++;
    const add: Array<[number, RoundRecord]> = [];
    for (const [rid, r] of round.records) if (!this.sent.has(rid)) add.push([rid, r]);
    for (const [rid] of add) this.sent.add(rid);
    for (const rid of this.sent) if (!round.records.has(rid)) this.sent.delete(rid);
    if (!this.dir) {
      const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'latencylab-trainer-'));
      this.removeDir = () => rmSync(dir, { recursive: true, force: true });
      process.once('exit', this.removeDir);
      this.dir = dir;
    }
    const file = path.join(this.dir, `round-${id}.bin`);
    writeRoundFile(file, { add, keep: Float64Array.from(round.records.keys()), heads: round.heads, options: round.options });
    child.channel?.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ id, file } satisfies TrainerRequest, (e) => {
        if (e && this.pending.delete(id)) reject(new Error(`cache-head trainer: could not send a round (${e.message})`));
      });
    });
  }

  cpuSeconds(): number {
    return this.cpuMicros / 1e6;
  }

  rssBytes(): number {
    return this.rss;
  }

  /** the trainer process's pid while it runs (operations, tests) */
  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  async close(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (this.removeDir) {
      // a process that hosts many engines (a bench) must not collect one exit listener per trainer
      process.off('exit', this.removeDir);
      this.removeDir();
    }
    this.removeDir = undefined;
    this.dir = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    // the child is unref'd so that an idle trainer never keeps a process alive; hold it while waiting
    c.ref();
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGTERM');
    });
  }
}

export function createTrainer(kind: 'thread' | 'process'): HeadTrainer {
  return kind === 'process' ? new ProcessTrainer() : new InThreadTrainer();
}
