import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getRuntime } from '../runtimes/index.js';
import { OrtRuntime, type OnnxInput } from '../runtimes/ort.js';
import { UserError } from '../util/errors.js';
import type { DeviceSettings } from './space.js';
import { DEFAULT_TIMING, measure, type TimingOptions, type TimingStats } from './timer.js';

/**
 * End-to-end timing of a whole ONNX model with the profiler's timing code (warm-up, interleaved
 * rounds, outlier rejection), plus session creation, and per-node times from onnxruntime's own
 * profiler for `measure --compare`.
 */
export interface ModelTiming {
  createMs: number;
  stats: TimingStats;
  /** the whole measurement: session creation, warm-up and every timed round */
  wallMs: number;
}

/** whole models take longer than modules: a little more time per model, same statistics */
export const MODEL_TIMING: TimingOptions = { ...DEFAULT_TIMING, maxTimeMs: 600, minRepeats: 10 };

function ortRuntime(device: string): OrtRuntime {
  const rt = getRuntime(device);
  if (!(rt instanceof OrtRuntime)) throw new UserError(`whole ONNX models run on onnxruntime devices (ort-cpu, ort-wasm); '${device}' interprets latencylab's own graphs only`, 'device');
  return rt;
}

export const deviceSettings = (threads: number): DeviceSettings => ({ threads, optLevel: 'all', loadWorkers: 0, loadDuty: 0 });

/** `probeRound`: a machine probe timed before each timed round and after the last (TimingStats.roundProbesMs) */
export async function measureModel(bytes: Uint8Array, inputs: OnnxInput[], device: string, threads: number, timing: Partial<TimingOptions> = {}, probeRound?: () => Promise<number>): Promise<ModelTiming> {
  const rt = ortRuntime(device);
  const t0 = performance.now();
  let p: Awaited<ReturnType<OrtRuntime['prepareOnnx']>>;
  try {
    p = await rt.prepareOnnx(bytes, inputs, deviceSettings(threads));
  } catch (e) {
    throw new UserError(`onnxruntime cannot create a session for this model: ${(e as Error).message.split('\n')[0]}`, device);
  }
  const createMs = performance.now() - t0;
  try {
    const stats = await measure(() => p.run(), { ...MODEL_TIMING, ...timing }, probeRound);
    // the measurement's own time: the round probes are the caller's bookkeeping, not measuring
    return { createMs, stats, wallMs: performance.now() - t0 - (stats.roundProbesWallMs ?? 0) };
  } finally {
    await p.dispose();
  }
}

export interface NodeTime {
  /** node name as onnxruntime's profiler reports it (the optimised graph's node) */
  name: string;
  op: string;
  /** median over the profiled runs */
  ms: number;
}

/** Per-node median times over `runs` profiled runs (ort-cpu: the wasm build writes no profile). */
export async function profileNodes(bytes: Uint8Array, inputs: OnnxInput[], device: string, threads: number, runs = 20): Promise<NodeTime[]> {
  if (device !== 'ort-cpu') throw new UserError(`per-node times come from onnxruntime-node's profiler; '${device}' does not write one (compare totals with 'measure' instead)`, 'device');
  const rt = ortRuntime(device);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latencylab-prof-'));
  try {
    const p = await rt.prepareOnnx(bytes, inputs, deviceSettings(threads), { profilePrefix: path.join(dir, 'p') });
    for (let i = 0; i < 3; i++) await p.run();
    for (let i = 0; i < runs; i++) await p.run();
    p.endProfiling();
    await p.dispose();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new UserError('onnxruntime wrote no profile file', device);
    const events = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
    const byNode = new Map<string, { op: string; durs: number[] }>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const name = e.name.slice(0, -'_kernel_time'.length);
      const rec = byNode.get(name) ?? { op: e.args?.op_name ?? '?', durs: [] };
      rec.durs.push(e.dur / 1000);
      byNode.set(name, rec);
    }
    // the first 3 runs were warm-up: keep the last `runs` of each node
    return [...byNode].map(([name, r]) => {
      const d = r.durs.slice(-runs).sort((a, b) => a - b);
      return { name, op: r.op, ms: d[Math.floor(d.length / 2)] ?? 0 };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
