import { GraphBuilder } from '../ir/graph.js';
import type { Prepared, Runtime } from '../runtimes/types.js';
import type { DeviceSettings } from './space.js';
import { median } from '../util/stats.js';

/**
 * The machine probe: a fixed small network (a 3×3 and a 1×1 convolution, a residual Add and a
 * ReLU over a 64-channel 56×56 map, ~1.5 ms on one core), the minimum of 9 runs, timed before
 * every chunk of module samples (`profile --probe`) and every whole-model measurement. (A 0.1 ms
 * probe varied 1.4–1.7× between calls on a steady machine; this one 1.05×.) On a shared machine the speed of the host drifts by tens of per cent over minutes
 * (bench:models measured the same networks 25–45 % slower in one phase than ten minutes later);
 * latency × (nominal probe / probe at the time) puts measurements taken in different phases on
 * one scale, and `predict --now` scales a prediction to the machine as it is at that moment.
 */
export function probeGraph() {
  const b = new GraphBuilder('machine-probe', 5);
  const x = b.input('x', [1, 64, 56, 56]);
  const y = b.conv(b.act(b.conv(x, { cout: 64, k: 3 }), 'relu'), { cout: 64, k: 1 });
  b.output(b.act(b.add(x, y), 'relu'));
  return b.build();
}

export class MachineProbe {
  private constructor(private readonly p: Prepared) {}

  static async open(rt: Runtime, threads: number): Promise<MachineProbe> {
    const s: DeviceSettings = { threads, optLevel: 'all', loadWorkers: 0, loadDuty: 0 };
    const p = await rt.prepare(probeGraph(), s);
    await warmUntilSteady(p);
    return new MachineProbe(p);
  }

  /**
   * the fastest of `runs` timed runs, in ms (interference only adds time), after warm-up runs
   * until they take no page faults: work between two probes (a session created and closed) can
   * leave the process without freed memory to serve the probe's output from again
   */
  async time(runs = 9): Promise<number> {
    await warmUntilSteady(this.p, 300);
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await this.p.run();
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return Math.min(...t);
  }

  async close(): Promise<void> {
    await this.p.dispose();
  }

  /** the machine state now: a probe opened, timed once (the fastest of `runs`) and closed — `predict --now` */
  static async now(rt: Runtime, threads: number, runs = 15): Promise<number> {
    const probe = await MachineProbe.open(rt, threads);
    try {
      return await probe.time(runs);
    } finally {
      await probe.close();
    }
  }
}

/**
 * Runs the probe until its runs stop taking page faults (at most `maxMs`). Every run hands back
 * its 802 KB output in a fresh buffer; until the process holds enough freed memory to serve those
 * from, each run maps new memory and pays a page fault per 4 KiB — on this VM ~10 µs each, 2.5×
 * the probe's time (scripts/probe-faults.mjs: 3.4 ms with ~196 faults per run, 1.33 ms without;
 * the first ~40 runs of a fresh process fault). Three warm-up runs used to be all, so `predict
 * --now` in a fresh process read ~3.4 ms and scaled its answer 2.4× too high.
 */
async function warmUntilSteady(p: Prepared, maxMs = 1000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 5; i++) await p.run();
    // a few pages per run is other work of the process; a faulting run takes ~196
    if (process.resourceUsage().minorPageFault - before < 50 || performance.now() - t0 > maxMs) return;
  }
}

/**
 * The machine state behind each of a series of probed measurements: the median of the probes timed
 * within ±`windowS` seconds of it (0: its own probe). One probe is itself a measurement and varies
 * by a few per cent from call to call; the host's speed drifts over minutes. In bench:models' data,
 * the same network's passes put at the machine state by their own probe agreed within ±5 % less
 * often than their raw timings did (2 threads: 61 vs 73 %), by the median probe of the few seconds
 * around them more often than either (79 %): the window keeps the drift and averages the noise.
 * Items without a time or a probe keep their own probe.
 */
export function smoothedProbes(items: ReadonlyArray<{ atMs?: number; probeMs?: number }>, windowS: number): Array<number | undefined> {
  const out = items.map((x) => x.probeMs);
  if (windowS <= 0) return out;
  const timed = items.flatMap((x, i) => (x.atMs !== undefined && x.probeMs !== undefined ? [{ i, at: x.atMs, probe: x.probeMs }] : []));
  timed.sort((a, b) => a.at - b.at);
  const w = windowS * 1000;
  let lo = 0;
  let hi = 0;
  for (const x of timed) {
    while (timed[lo]!.at < x.at - w) lo++;
    while (hi < timed.length && timed[hi]!.at <= x.at + w) hi++;
    out[x.i] = median(timed.slice(lo, hi).map((t) => t.probe));
  }
  return out;
}
