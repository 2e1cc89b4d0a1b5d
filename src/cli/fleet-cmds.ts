import { Option, type Command } from 'commander';
import { DEVICES } from '../runtimes/index.js';
import { runAgent } from '../fleet/agent.js';
import { enqueueDataset, enqueueModel, type FleetProfileRequest } from '../fleet/enqueue.js';
import { FleetStore } from '../fleet/pg-store.js';
import { pullDataset } from '../fleet/pull.js';
import { ATTEMPTS, FleetQueue, queueName } from '../fleet/queue.js';
import type { OnnxInput } from '../runtimes/ort.js';
import type { Store } from '../store/db.js';
import { positiveInt, stopOnSigint } from './args.js';
import { formatTable } from './table.js';
import { UserError } from '../util/errors.js';

/** `profile … --fleet`: plan the dataset in the fleet store and queue it for the agents */
export async function enqueueForFleet(url: string, req: FleetProfileRequest): Promise<void> {
  const store = await FleetStore.open(url);
  const q = await FleetQueue.open(url).catch(async (e) => {
    await store.close();
    throw e;
  });
  try {
    const r = await enqueueDataset(store, q, req);
    console.log(`${r.dataset}: ${r.created ? 'planned' : 'already planned'} ${r.planned} configurations, ${r.pending} not measured yet; queued ${r.jobs} jobs on ${r.queues.join(', ') || '(nothing new)'}`);
    console.log('agents serving those queues measure them: latencylab agent --device <d> --threads <n> --store <url>; progress: latencylab fleet --store <url>');
  } finally {
    await q.close();
    await store.close();
  }
}

/** `measure model.onnx --fleet`: the model goes into the fleet store, one job to the agents of its device setting */
export async function enqueueModelForFleet(url: string, m: Parameters<typeof enqueueModel>[2]): Promise<void> {
  const store = await FleetStore.open(url);
  try {
    const q = await FleetQueue.open(url, { supervise: false });
    try {
      const r = await enqueueModel(store, q, m);
      console.log(r.queued ? `${m.name}: stored as ${r.hash}, queued on ${r.queue}; an agent times it (latencylab fleet --store … shows the result)` : `${m.name}: already timed on ${m.device}/t${m.threads} in the fleet store (latencylab fleet --store …)`);
    } finally {
      await q.close();
    }
  } finally {
    await store.close();
  }
}

/**
 * `measure-archs --fleet`: each network is stored and queued once; what agents have timed comes
 * back (undefined: not timed yet)
 */
export async function collectFromFleet(url: string, models: Array<{ name: string; bytes: Uint8Array; inputs: OnnxInput[] }>, device: string, threads: number): Promise<Array<number | undefined>> {
  const store = await FleetStore.open(url);
  try {
    const q = await FleetQueue.open(url, { supervise: false });
    try {
      const out: Array<number | undefined> = [];
      for (const m of models) {
        const hash = await store.putModel(m.name, m.bytes, m.inputs);
        const run = (await store.modelRun(hash, device, threads)) as { stats: { latencyMs: number } } | undefined;
        if (!run) {
          const queue = queueName(device, { threads });
          const waiting = await store.pool.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry', 'active') AND data->>'model' = $2`, [queue, hash]);
          if (!waiting.rowCount) await enqueueModel(store, q, { ...m, device, threads });
        }
        out.push(run?.stats.latencyMs);
      }
      return out;
    } finally {
      await q.close();
    }
  } finally {
    await store.close();
  }
}

/** `datasets --store`: the fleet's datasets with their progress */
export async function listFleetDatasets(url: string): Promise<void> {
  const store = await FleetStore.open(url);
  try {
    const rows = (await store.progress()).map((d) => [d.name, d.device, d.stored, d.planned, d.lastMinute]);
    console.log(rows.length ? formatTable(['name', 'device', 'measured', 'planned', 'in the last minute'], rows) : 'no datasets in the fleet store');
  } finally {
    await store.close();
  }
}

/** `export/train --store`: the commands run on the local store, after pulling the fleet's datasets into it */
export async function pullForCommand(url: string, local: Store, names: string[]): Promise<void> {
  const fs = await FleetStore.open(url);
  try {
    for (const name of names) {
      const r = await pullDataset(fs, local, name);
      process.stderr.write(`${name}: pulled ${r.copied} new samples from the fleet store (${r.stored}/${r.planned} measured there)\n`);
    }
  } finally {
    await fs.close();
  }
}

function requireStore(url: string | undefined): string {
  if (!url) throw new UserError('is required: the fleet store, postgres://user:password@host:5432/db', '--store');
  return url;
}

/** `agent` and `fleet`: the machines of a profiling fleet, and its state. */
export function registerFleetCommands(program: Command, openStore: () => Store): void {
  program
    .command('agent')
    .description('serve a fleet: pull measuring jobs for one device setting from the fleet store, measure them here, write the samples back')
    .requiredOption('--store <url>', 'fleet store: postgres://user:password@host:5432/db')
    .addOption(new Option('-d, --device <name>', 'device this machine measures').choices([...DEVICES]).default('ort-cpu'))
    .option('-t, --threads <n>', 'intra-op threads of the jobs it takes', positiveInt, 1)
    .option('--machine <name>', 'machine name for the one-agent-per-machine lock (default: host name)')
    .option('--max-jobs <n>', 'stop after this many jobs', positiveInt)
    .option('--idle-exit <s>', 'stop after the queue stayed empty this many seconds', positiveInt)
    .option('--lease <s>', 'seconds a job may take before it is given to another agent', positiveInt, 300)
    .action(async (o) => {
      const sigint = stopOnSigint('stopping after the current job (Ctrl-C again to quit now; the job then goes to another agent when its lease ends)');
      try {
        const r = await runAgent({
          url: o.store, device: o.device, threads: o.threads, machine: o.machine, maxJobs: o.maxJobs,
          idleExitMs: o.idleExit !== undefined ? o.idleExit * 1000 : undefined, leaseSeconds: o.lease,
          log: (s) => process.stderr.write(s + '\n'), shouldStop: () => sigint.flag.stop,
        });
        console.log(`agent ${r.id}: ${r.jobs} jobs done, ${r.stored} samples stored, ${r.failed} jobs failed`);
      } finally {
        sigint.release();
      }
    });

  const fleet = program
    .command('fleet')
    .description('the state of a profiling fleet: agents, queues, datasets, throughput, dead letters')
    .option('--store <url>', 'fleet store: postgres://user:password@host:5432/db')
    .action(async (o) => {
      const url = requireStore(o.store);
      const store = await FleetStore.open(url);
      const q = await FleetQueue.open(url, { supervise: false });
      try {
        const now = Date.now();
        const agents = await store.agents();
        console.log(`agents (${agents.filter((a) => now - Date.parse(a.lastSeen) < 60_000 && a.state !== 'stopped').length} alive):`);
        console.log(formatTable(['agent', 'queue', 'state', 'last seen', 'jobs', 'samples', 'load (1 min)', 'cpu', 'runtime'], agents.map((a) => [
          a.id, a.queue, now - Date.parse(a.lastSeen) > 60_000 && a.state !== 'stopped' ? 'lost' : a.state, `${Math.round((now - Date.parse(a.lastSeen)) / 1000)} s ago`, a.jobsDone, a.samplesStored,
          a.load1 === null ? '?' : a.load1.toFixed(2), a.env ? `${a.env.cpuModel} × ${a.env.cores}` : '?', a.env ? `${a.env.runtime} ${a.env.runtimeVersion}` : '?',
        ])));
        const queues = await q.queues();
        console.log('\nqueues:');
        console.log(formatTable(['queue', 'waiting', 'retry', 'running', 'done', 'failed'], await Promise.all(queues.map(async (n) => {
          const c = await q.counts(n);
          return [n, c.created ?? 0, c.retry ?? 0, c.active ?? 0, c.completed ?? 0, c.failed ?? 0];
        }))));
        console.log('\ndatasets:');
        console.log(formatTable(['dataset', 'device', 'stored', 'planned', 'samples in the last minute'], (await store.progress()).map((d) => [d.name, d.device, d.stored, d.planned, d.lastMinute])));
        const runs = await store.modelRuns();
        if (runs.length) {
          console.log('\nwhole models:');
          console.log(formatTable(['model', 'device', 'threads', 'latency ms', 'session ms', 'agent'], runs.map((r) => [r.name, r.device, r.threads, r.latencyMs, r.createMs, r.agent])));
        }
        const dead = await q.deadLetters();
        if (dead.length) {
          console.log(`\ndead letters (${dead.length}, each failed ${ATTEMPTS} times):`);
          console.log(formatTable(['job', 'error'], dead.map((d) => [d.job, d.error])));
        }
      } finally {
        await q.close();
        await store.close();
      }
    });

  fleet
    .command('pull')
    .description('copy a dataset measured by the fleet into the local SQLite store (then train, predict… as usual)')
    .requiredOption('--dataset <name>', 'dataset in the fleet store')
    .option('--store <url>', 'fleet store: postgres://user:password@host:5432/db')
    .action(async (o, cmd: Command) => {
      // commander may hand --store to the parent `fleet` command: take it from either
      const fs = await FleetStore.open(requireStore(o.store ?? cmd.parent?.opts().store));
      const local = openStore();
      try {
        const r = await pullDataset(fs, local, o.dataset);
        console.log(`${o.dataset}: ${r.copied} new samples copied into ${local.file} (${r.stored}/${r.planned} measured in the fleet)`);
      } finally {
        local.close();
        await fs.close();
      }
    });
}
