import { createHash } from 'node:crypto';
import { getModule, type ModuleDef } from '../modules/index.js';
import { getRuntime, type Prepared, type Runtime } from '../runtimes/index.js';
import type { DatasetRow, PendingConfig, Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { quantile } from '../util/stats.js';
import { describeMachine, loadAverage1, type Environment } from './environment.js';
import { BackgroundLoad } from './load.js';
import { planConfigs, type PlannedConfig, type SamplerName } from './sampler.js';
import { defaultSpace, type Space } from './space.js';
import { MachineProbe } from './probe.js';
import { QuietGate, DEFAULT_QUIET_GATE, type QuietGateOptions } from './quiet-gate.js';
import { DEFAULT_TIMING, summarise, timeRound, type TimingOptions, type TimingStats } from './timer.js';
import type { GraphCost } from '../ir/graph.js';

export interface ProfileRequest {
  module: string;
  device: string;
  samples: number;
  sampler?: SamplerName;
  seed?: number;
  /** parsed space; the module's default space when omitted */
  space?: Space;
  /** dataset name; default `<module>@<device>` */
  name?: string;
  timing?: Partial<TimingOptions>;
  /** replace an existing dataset of that name instead of resuming it */
  fresh?: boolean;
  /**
   * measure exactly these configurations (in this order) instead of sampling the space — e.g. to
   * re-measure another dataset's configurations in a later run (noise floor)
   */
  plan?: PlannedConfig[];
  /**
   * time the module's reference configuration in every chunk, interleaved with the chunk's
   * configurations, and store its latency with each sample (`ref_ms`): the machine state of that
   * moment, so latencies of different runs can be compared relative to it
   */
  reference?: boolean;
  /**
   * time the machine probe (probe.ts) before every chunk and store it with each sample
   * (`probe_ms`): training then learns latency relative to the machine's state
   */
  probe?: boolean;
  /**
   * measure every configuration this many times in all (default 1), each later pass over the
   * whole plan in its own order once the first is done; a sample's latency is then its quietest
   * pass (store/db.ts quietestPass). Not part of the dataset's spec: a later call with more passes
   * adds the missing ones to a dataset measured once.
   */
  passes?: number;
  /**
   * with `reference`: measure a chunk again (up to `retries` times) when its reference says the
   * host was in its slow state (quiet-gate.ts); on by default, `false` turns it off. Never under a
   * background-load level, where the slow state is what is being measured.
   */
  quietGate?: Partial<QuietGateOptions> | false;
}

/** most measurement passes profile takes */
export const MAX_PASSES = 5;

export interface ProfileProgress {
  done: number;
  total: number;
  /** samples measured in this run (not counting ones found already stored) */
  measuredNow: number;
  elapsedMs: number;
  /** configurations measured in a slow phase of the host, waiting to be measured again (quiet gate) */
  waiting?: number;
}

export interface ProfileHooks {
  onStart?(total: number, alreadyDone: number, dataset: DatasetRow): void;
  onProgress?(p: ProfileProgress): void;
  /** polled between samples: return true to stop cleanly (Ctrl-C) */
  shouldStop?(): boolean;
}

export interface ProfileResult {
  dataset: DatasetRow;
  planned: number;
  /** measurement passes (1 unless --passes) */
  passes: number;
  /** measurements in all: planned × passes (what measuredNow and alreadyStored count) */
  measurements: number;
  measuredNow: number;
  alreadyStored: number;
  rejectedConfigs: number;
  /** chunks measured again because the host was in its slow state, and chunks kept slow after every retry (`quietGate`) */
  slowChunks: { retried: number; keptSlow: number };
  stopped: boolean;
  elapsedMs: number;
}

export interface MeasuredConfig {
  cost: GraphCost;
  createMs: number;
  timing: TimingStats;
}

export const defaultDatasetName = (module: string, device: string) => `${module}@${device}`;

/** Checks the device-side parameters against what the runtime can do, before anything is stored. */
export function checkDeviceSpace(rt: Runtime, space: Space): void {
  if (rt.threadChoices) {
    const bad = space.device.threads.find((t) => !rt.threadChoices!.includes(t));
    if (bad !== undefined) throw new UserError(`device ${rt.device} runs with threads ${rt.threadChoices.join('/')} only, got ${bad}`, 'threads');
  }
  if (!rt.hasOptLevel && space.device.optLevel.some((o) => o !== 'all')) {
    throw new UserError(`device ${rt.device} has no graph optimisation levels; leave optLevel at 'all'`, 'optLevel');
  }
}

/**
 * A fixed mid-sized configuration of a module (the geometric middle of every default range, the
 * middle element of every list), buildable or the first valid one of the default space.
 */
export function referenceParams(m: ModuleDef): PlannedConfig['params'] {
  const p: PlannedConfig['params'] = {};
  for (const s of m.params) {
    const d = s.default;
    if (Array.isArray(d)) p[s.name] = d[Math.floor(d.length / 2)]!;
    else {
      const step = d.step ?? 1;
      const mid = d.log ? Math.sqrt(d.min * d.max) : (d.min + d.max) / 2;
      p[s.name] = Math.max(d.min, Math.round(mid / step) * step);
    }
  }
  try {
    m.build(p, 1, false);
    return p;
  } catch {
    return planConfigs(m, defaultSpace(m), 'grid', 1, 1).configs[0]!.params;
  }
}

/** Configurations prepared and timed together, so their rounds interleave (see TimingOptions.rounds). */
export const CHUNK_SIZE = 8;

/**
 * Builds and prepares (session creation timed apart) each configuration, then times them in
 * interleaved rounds — round r of every config, in a fresh random order, before round r+1.
 */
export async function measureChunk(rt: Runtime, m: ModuleDef, cfgs: PlannedConfig[], timing: TimingOptions, seed = 1): Promise<MeasuredConfig[]> {
  const rng = new Rng(seed);
  const prepared: Array<{ graph: ReturnType<ModuleDef['build']>; createMs: number; p: Prepared; rounds: number[][] }> = [];
  try {
    for (const cfg of cfgs) {
      const graph = m.build(cfg.params);
      const t0 = process.hrtime.bigint();
      const p = await rt.prepare(graph, cfg.device);
      prepared.push({ graph, createMs: Number(process.hrtime.bigint() - t0) / 1e6, p, rounds: [] });
    }
    for (let r = 0; r < Math.max(1, timing.rounds); r++) {
      for (const i of rng.shuffle(prepared.map((_, k) => k))) {
        const x = prepared[i]!;
        x.rounds.push(await timeRound(() => x.p.run(), timing, r === 0));
      }
    }
    return prepared.map((x) => ({ cost: x.graph.cost, createMs: x.createMs, timing: summarise(x.rounds, timing.outlierSigmas) }));
  } finally {
    for (const x of prepared) await x.p.dispose();
  }
}

/** One configuration on its own (rounds back to back). */
export async function measureConfig(rt: Runtime, m: ModuleDef, cfg: PlannedConfig, timing: TimingOptions): Promise<MeasuredConfig> {
  return (await measureChunk(rt, m, [cfg], timing))[0]!;
}

/** consecutive pending configs, at most CHUNK_SIZE, never mixing background-load levels */
function* chunks(pending: PendingConfig[]): Generator<PendingConfig[]> {
  let cur: PendingConfig[] = [];
  for (const c of pending) {
    const prev = cur[0];
    if (cur.length === CHUNK_SIZE || (prev && (prev.device.loadWorkers !== c.device.loadWorkers || prev.device.loadDuty !== c.device.loadDuty))) {
      yield cur;
      cur = [];
    }
    cur.push(c);
  }
  if (cur.length) yield cur;
}

export async function environmentOf(rt: Runtime): Promise<Environment> {
  const info = await rt.info();
  return { ...describeMachine(), runtime: info.runtime, runtimeVersion: info.version, executionProvider: info.executionProvider };
}

/**
 * Orders configurations for measurement: grouped by background-load level (starting and stopping
 * load workers is slow and disturbs timings), random order inside and across groups so that drift
 * over the run does not correlate with any parameter.
 */
export function measurementOrder<T extends PlannedConfig>(configs: T[], seed: number): T[] {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const groups = new Map<string, T[]>();
  for (const c of configs) {
    const k = `${c.device.loadWorkers}@${c.device.loadDuty}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(c);
  }
  return rng.shuffle([...groups.values()]).flatMap((g) => rng.shuffle(g));
}

/**
 * Profiles a module on a device and stores every sample. Resumable: the plan is stored when the
 * dataset is created, and a later call with the same request measures only what is missing.
 */
export async function profile(store: Store, req: ProfileRequest, hooks: ProfileHooks = {}): Promise<ProfileResult> {
  const started = performance.now();
  const passes = req.passes ?? 1;
  if (!Number.isInteger(passes) || passes < 1 || passes > MAX_PASSES) throw new UserError(`expected a whole number of passes from 1 to ${MAX_PASSES}, got ${passes}`, '--passes');
  const m = getModule(req.module);
  const rt = getRuntime(req.device);
  const space = req.space ?? defaultSpace(m);
  checkDeviceSpace(rt, space);
  const sampler = req.sampler ?? 'random';
  const seed = req.seed ?? 1;
  const timing: TimingOptions = { ...DEFAULT_TIMING, ...req.timing };
  const name = req.name ?? defaultDatasetName(m.name, rt.device);
  const spec = {
    module: m.name, device: rt.device, space, sampler, seed, samples: req.plan?.length ?? req.samples, timing,
    ...(req.plan ? { planHash: createHash('sha1').update(JSON.stringify(req.plan)).digest('hex').slice(0, 12) } : {}),
    ...(req.reference ? { reference: true } : {}),
  };

  const holder = store.acquireProfilingLock(name);
  if (holder) {
    throw new UserError(
      `is being profiled by process ${holder.pid} on ${holder.host} since ${holder.started_at}; two profilers at once share the CPU and falsify each other's timings — ` +
        `wait for it to finish, or stop it and run this again to resume where it stopped`,
      `dataset '${name}'`,
    );
  }
  try {
    return await profileLocked(store, req, { started, m, rt, sampler, seed, timing, name, spec, passes }, hooks);
  } finally {
    store.releaseProfilingLock(name);
  }
}

async function profileLocked(
  store: Store,
  req: ProfileRequest,
  c: { started: number; m: ModuleDef; rt: Runtime; sampler: SamplerName; seed: number; timing: TimingOptions; name: string; spec: Record<string, unknown>; passes: number },
  hooks: ProfileHooks,
): Promise<ProfileResult> {
  const { started, m, rt, sampler, seed, timing, name, spec, passes } = c;
  const space = spec.space as Space;
  let ds = store.getDataset(name);
  let rejectedConfigs = 0;
  if (ds && req.fresh) {
    store.deleteDataset(name);
    ds = undefined;
  }
  if (ds && !store.sameSpec(ds, spec)) {
    throw new UserError(
      `dataset '${name}' already exists with a different module/device/space/sampler/seed/samples/timing; ` +
        `pass --name to start another, or --fresh to replace it`,
      'dataset',
    );
  }
  if (!ds) {
    if (req.plan) {
      for (const c of req.plan) m.build(c.params, 1, false); // an impossible planned config fails before anything is stored
      ds = store.createDataset({ name, module: m.name, device: rt.device, sampler: 'plan', seed, spec }, req.plan);
    } else {
      const plan = planConfigs(m, space, sampler, req.samples, seed);
      rejectedConfigs = plan.rejected;
      ds = store.createDataset({ name, module: m.name, device: rt.device, sampler, seed, spec }, measurementOrder(plan.configs, seed));
    }
  }

  const pending = store.pending(ds.id);
  // measurements still to take, over every pass (a later pass measures each configuration once more)
  const total = ds.planned * passes;
  let todo = pending.length;
  for (let pass = 1; pass < passes; pass++) todo += ds.planned - store.passCount(ds.id, pass);
  const alreadyStored = total - todo;
  hooks.onStart?.(total, alreadyStored, ds);
  const envId = store.environmentId(await environmentOf(rt));
  const load = new BackgroundLoad();
  const refParams = req.reference ? referenceParams(m) : undefined;
  const firstDevice = (pending[0] ?? store.plannedConfigs(ds.id)[0])?.device;
  const probe = req.probe && todo && firstDevice ? await MachineProbe.open(rt, firstDevice.threads) : undefined;
  let measuredNow = 0;
  let stopped = false;
  let waiting = 0;
  // one quiet gate per device setting the reference is timed at, primed with the quiet level the
  // store already knows for it (the 10th percentile of its stored reference timings: most are quiet)
  const gates = new Map<string, QuietGate>();
  const gateFor = (d: PendingConfig['device']) => {
    if (!refParams || req.quietGate === false || d.loadWorkers > 0) return undefined;
    const key = `${d.threads}|${d.optLevel}`;
    let g = gates.get(key);
    if (!g) {
      g = new QuietGate({ ...DEFAULT_QUIET_GATE, ...req.quietGate });
      const known = store.referenceTimings(m.name, rt.device, d.threads, d.optLevel);
      if (known.length) g.seed(quantile(known, 0.1));
      gates.set(key, g);
    }
    return g;
  };
  type Save = (chunk: PendingConfig[], results: MeasuredConfig[], extra: { refMs?: number; probeMs?: number; loadavg1: number }) => void;
  /** one measurement of a chunk (its reference interleaved), the probe timed just before it */
  const measureOnce = async (chunk: PendingConfig[], chunkSeed: number) => {
    await load.set({ workers: chunk[0]!.device.loadWorkers, duty: chunk[0]!.device.loadDuty });
    const probeMs = await probe?.time();
    const ref = refParams ? [{ params: refParams, device: chunk[0]!.device }] : [];
    const results = await measureChunk(rt, m, [...chunk, ...ref], timing, chunkSeed);
    return { results, probeMs, refRoundsMs: refParams ? results[chunk.length]!.timing.roundMediansMs : [] };
  };
  type Measurement = Awaited<ReturnType<typeof measureOnce>>;
  const progress = () => hooks.onProgress?.({ done: alreadyStored + measuredNow, total, measuredNow, elapsedMs: performance.now() - started, ...(waiting ? { waiting } : {}) });
  const saveOne = (save: Save, chunk: PendingConfig[], a: Measurement) => {
    // one transaction per chunk: a crash loses at most the chunk being measured, never a stored sample
    save(chunk, a.results, { refMs: refParams ? a.results[chunk.length]!.timing.latencyMs : undefined, probeMs: a.probeMs, loadavg1: loadAverage1() });
    measuredNow += chunk.length;
    progress();
  };
  /**
   * measures the configurations chunk by chunk (probe, reference), handing each chunk's results to
   * `store`; a chunk the quiet gate finds slow waits for the end of the plan and is measured again
   * there, up to the gate's retries (a chunk not yet stored when stopped is measured on resume)
   */
  const measureAll = async (configs: PendingConfig[], pass: number, save: Save) => {
    const stopNow = () => (hooks.shouldStop?.() ? (stopped = true) : false);
    let deferred: Array<{ chunk: PendingConfig[]; gate: QuietGate; best: Measurement; score: number; at: number }> = [];
    for (const chunk of chunks(configs)) {
      if (stopNow()) return;
      const a = await measureOnce(chunk, seed + chunk[0]!.idx + 7919 * pass);
      const gate = gateFor(chunk[0]!.device);
      if (!gate || gate.isQuiet(a.refRoundsMs)) {
        gate?.keptQuiet();
        saveOne(save, chunk, a);
      } else if (gate.opts.retries < 1) {
        gate.keptAfterRetries(QuietGate.score(a.refRoundsMs));
        saveOne(save, chunk, a);
      } else {
        deferred.push({ chunk, gate, best: a, score: QuietGate.score(a.refRoundsMs), at: performance.now() });
        waiting += chunk.length;
        progress();
      }
    }
    for (let retry = 1; deferred.length; retry++) {
      const slow: typeof deferred = [];
      for (const d of deferred) {
        // not straight after the previous attempt (QuietGateOptions.gapS), Ctrl-C still heard
        while (performance.now() - d.at < retry * d.gate.opts.gapS * 1000) {
          if (stopNow()) return;
          await new Promise((r) => setTimeout(r, Math.min(250, retry * d.gate.opts.gapS * 1000 - (performance.now() - d.at))));
        }
        if (stopNow()) return;
        d.gate.retried++;
        const a = await measureOnce(d.chunk, seed + d.chunk[0]!.idx + 7919 * pass + 104729 * retry);
        const score = QuietGate.score(a.refRoundsMs);
        d.at = performance.now();
        if (score < d.score) Object.assign(d, { best: a, score });
        if (d.gate.isQuiet(a.refRoundsMs)) {
          d.gate.keptQuiet();
          waiting -= d.chunk.length;
          saveOne(save, d.chunk, a);
        } else if (retry >= d.gate.opts.retries) {
          d.gate.keptAfterRetries(d.score);
          waiting -= d.chunk.length;
          saveOne(save, d.chunk, d.best);
        } else slow.push(d);
      }
      deferred = slow;
    }
  };
  try {
    await measureAll(pending, 0, (chunk, results, x) => store.insertSamples(ds.id, chunk.map((cfg, i) => ({ ...cfg, ...results[i]!, loadavg1: x.loadavg1, envId, refMs: x.refMs, probeMs: x.probeMs }))));
    for (let pass = 1; pass < passes && !stopped; pass++) {
      // in the pass's own order, so that a slow phase of the host meets other configurations each time
      const configs = measurementOrder(store.passPending(ds.id, pass), seed + pass);
      await measureAll(configs, pass, (chunk, results, x) =>
        store.insertPassMeasurements(ds.id, chunk.map((cfg, i) => ({ idx: cfg.idx, pass, latency_ms: results[i]!.timing.latencyMs, ref_ms: x.refMs ?? null, probe_ms: x.probeMs ?? null, loadavg1: x.loadavg1 }))),
      );
    }
  } finally {
    await load.stop();
    await probe?.close();
  }
  return { dataset: ds, planned: ds.planned, passes, measurements: total, measuredNow, alreadyStored, rejectedConfigs, slowChunks: { retried: [...gates.values()].reduce((n, g) => n + g.retried, 0), keptSlow: [...gates.values()].reduce((n, g) => n + g.keptSlow, 0) }, stopped, elapsedMs: performance.now() - started };
}
