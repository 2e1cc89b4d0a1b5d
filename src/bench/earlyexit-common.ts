/** Pieces shared by the early-exit benches (bench:earlyexit, -seeds, -http, -imagenet). */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFullFashionMnist, type ImageSet } from '../data/fmnist.js';
import type { CacheEngine } from '../earlyexit/engine.js';
import { replayStream, type ReplayRecord, type WindowSummary } from '../earlyexit/replay.js';
import { startEngine, type CacheTarget } from '../earlyexit/setup.js';
import type { SegmentCosts } from '../earlyexit/segments.js';

export const log = (s: string) => process.stderr.write(s + '\n');
export const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);
export const ms = (x: number) => x.toFixed(3);

export function requireFull(prefix: 't10k' | 'train'): ImageSet {
  const s = findFullFashionMnist(prefix);
  if (!s) {
    console.error(`the full Fashion-MNIST ${prefix} set was not found (../shared/data/fashion-mnist or /usr/share/datasets/fashion-mnist; Debian package dataset-fashion-mnist)`);
    process.exit(2);
  }
  return s;
}

/** the engine's work beside the request path, cumulative at one moment */
export interface WorkSnapshot {
  trainerCpuS: number;
  /** finishing audits + re-planning on the serving thread */
  mainMaintenanceMs: number;
  trainFlops: number;
  viewFlops: number;
  rounds: number;
}

export interface StreamRun {
  records: ReplayRecord[];
  engine: CacheEngine;
  maintenanceMs: number;
  wallS: number;
  /** work snapshots at the half-way point and at the end (for the second half's compute bill) */
  half: WorkSnapshot;
  end: WorkSnapshot;
}

function workSnapshot(e: CacheEngine): WorkSnapshot {
  const m = e.stats().maintenance;
  return { trainerCpuS: m.trainerCpuSeconds, mainMaintenanceMs: m.auditMs + m.manageMs, trainFlops: m.trainFlops, viewFlops: m.viewFlops, rounds: m.retrains };
}

export async function runStream(t: CacheTarget, costs: SegmentCosts, engine: CacheEngine, n: number, input: (i: number) => Float32Array, truth: (i: number) => number): Promise<StreamRun> {
  const { engine: baseline } = await startEngine(t, { cache: false }, costs);
  const t0 = Date.now();
  let half = workSnapshot(engine);
  const { records, maintenanceMs } = await replayStream(engine, baseline, n, input, truth, {
    onRequest: (i) => {
      if ((i + 1) % 2000 === 0) log(`    ${i + 1}/${n}`);
      // taken before request n/2's maintenance: the second half's bill starts here
      if (i === Math.floor(n / 2)) half = workSnapshot(engine);
    },
  });
  return { records, engine, maintenanceMs, wallS: (Date.now() - t0) / 1000, half, end: workSnapshot(engine) };
}

export function windowRows(label: string, w: WindowSummary): Array<string | number> {
  return [
    label,
    pct(w.flopsReduction),
    `${ms(w.p50)} / ${ms(w.baselineP50)}`,
    pct(w.latencyReductionP50),
    `${ms(w.p95)} / ${ms(w.baselineP95)}`,
    pct(w.latencyReductionP95),
    `${ms(w.meanMs)} / ${ms(w.baselineMeanMs)}`,
    pct(w.latencyReductionMean),
    `${pct(w.accuracy)} / ${pct(w.backboneAccuracy)}`,
    w.accuracy !== null && w.backboneAccuracy !== null ? `${(100 * (w.accuracy - w.backboneAccuracy)).toFixed(2)}` : 'n/a',
    pct(w.agreement),
    pct(w.earlyExitRate),
    pct(w.auditRate),
  ];
}
export const WINDOW_HEADERS = ['requests', 'FLOPs saved', 'p50 ms cached / backbone', 'p50 saved', 'p95 ms cached / backbone', 'p95 saved', 'mean ms cached / backbone', 'mean saved', 'accuracy cached / backbone', 'Δ acc (pts)', 'agreement', 'early exits', 'audited'];


const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `latencylab cache serve` in a child process; resolves once it listens */
export async function startCacheServer(args: string[]): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'latencylab.js'), 'cache', 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`cache serve exited with ${code}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

/** writes reports/<name>.md (and .json with the raw figures) */
export function writeReport(name: string, markdown: string, data: unknown): void {
  mkdirSync(path.join(ROOT, 'reports'), { recursive: true });
  const out = path.join(ROOT, 'reports', `${name}.md`);
  writeFileSync(out, markdown);
  writeFileSync(path.join(ROOT, 'reports', `${name}.json`), JSON.stringify(data, null, 1));
  log(`wrote ${out}`);
}

/** runs `main` when this module is the program (a bench that is also a section of another) */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== path.resolve(process.argv[1])) return;
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
