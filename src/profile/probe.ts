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
    for (let i = 0; i < 3; i++) await p.run();
    return new MachineProbe(p);
  }

  /** the fastest of `runs` timed runs after one warm-up run, in ms (interference only adds time) */
  async time(runs = 9): Promise<number> {
    await this.p.run();
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
