import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HeadModel, HeadPredictor, type HeadSnapshot, type HeadSpec } from './head-model.js';

/** One head's share of a training round. */
export interface TrainingJob {
  /** identifies the head across rounds (its optimiser state lives with the trainer) */
  key: string;
  spec: HeadSpec;
  /** n examples, flat row-major: n × inDim features, n × classes target probabilities */
  xs: Float32Array;
  targets: Float32Array;
  n: number;
  /** feature rows (m × inDim) to predict with the new weights: the calibration records' views */
  evalXs?: Float32Array;
  evalN?: number;
}

export interface TrainingResult {
  key: string;
  snapshot: HeadSnapshot;
  /** m × classes probabilities for `evalXs` */
  evalProbs?: Float32Array;
}

export interface RoundOptions {
  epochs: number;
  batchSize: number;
}

/**
 * Where cache heads train. 'process' (the default for an engine): a child process with its own
 * tfjs, so a server's request thread never runs a minibatch; 'thread': in this process, yielding
 * to the event loop between minibatches (tests of the head itself, the offline baseline).
 */
export interface HeadTrainer {
  readonly kind: 'thread' | 'process';
  train(jobs: TrainingJob[], o: RoundOptions): Promise<TrainingResult[]>;
  /** CPU seconds spent on training so far (the trainer process's own; on a thread, time inside rounds) */
  cpuSeconds(): number;
  /** resident memory of the trainer process, bytes (0 on a thread: it is the caller's) */
  rssBytes(): number;
  close(): Promise<void>;
}

/** Runs one round against a set of head models: train each head, then predict its eval rows. Shared by both trainers. */
export async function runRound(models: Map<string, HeadModel>, jobs: TrainingJob[], o: RoundOptions & { yieldEvery?: number }): Promise<TrainingResult[]> {
  const out: TrainingResult[] = [];
  for (const j of jobs) {
    let m = models.get(j.key);
    if (!m) models.set(j.key, (m = new HeadModel(j.spec)));
    const snapshot = await m.fit(j.xs, j.targets, j.n, o);
    const r: TrainingResult = { key: j.key, snapshot };
    if (j.evalXs && j.evalN) {
      const { inDim, hidden, classes } = j.spec;
      const p = new HeadPredictor(snapshot, inDim, hidden, classes);
      r.evalProbs = new Float32Array(j.evalN * classes);
      for (let i = 0; i < j.evalN; i++) p.predict(j.evalXs.subarray(i * inDim, (i + 1) * inDim), r.evalProbs.subarray(i * classes, (i + 1) * classes));
    }
    out.push(r);
  }
  return out;
}

export class InThreadTrainer implements HeadTrainer {
  readonly kind = 'thread';
  private readonly models = new Map<string, HeadModel>();
  private spentMs = 0;

  async train(jobs: TrainingJob[], o: RoundOptions): Promise<TrainingResult[]> {
    const t = performance.now();
    try {
      return await runRound(this.models, jobs, { ...o, yieldEvery: 1 });
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

export type TrainerRequest = { id: number; jobs: TrainingJob[]; options: RoundOptions };
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

  private start(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    // from the TypeScript sources (tests, tsx) the entry is a .ts file that needs tsx's loader
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(`./trainer-process.${fromSource ? 'ts' : 'js'}`, import.meta.url));
    const child = fork(entry, [], { serialization: 'advanced', execArgv: fromSource ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    // a process waiting for nothing but an idle trainer should still be able to exit; the channel
    // is held open (ref) only while a round is in flight
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  train(jobs: TrainingJob[], options: RoundOptions): Promise<TrainingResult[]> {
    const child = this.start();
    const id = this.nextId++;
    child.channel?.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ id, jobs, options } satisfies TrainerRequest, (e) => {
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
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGTERM');
    });
  }
}

export function createTrainer(kind: 'thread' | 'process'): HeadTrainer {
  return kind === 'process' ? new ProcessTrainer() : new InThreadTrainer();
}
