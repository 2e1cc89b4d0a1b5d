import { Worker } from 'node:worker_threads';
import type { LoadLevel } from './space.js';

/**
 * Background CPU load: `workers` threads that each spin for duty×10 ms then sleep the rest of the
 * period. It makes "device utilisation" a controllable input, so latency can be learned as a
 * function of how busy the device is.
 */
const PERIOD_MS = 10;
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const busy = workerData.duty * ${PERIOD_MS};
const idle = ${PERIOD_MS} - busy;
let sink = 0;
for (;;) {
  const t0 = performance.now();
  while (performance.now() - t0 < busy) sink += Math.sqrt(sink + 1);
  if (idle > 0.05) Atomics.wait(sleeper, 0, 0, idle);
}
`;

export class BackgroundLoad {
  private workers: Worker[] = [];
  private current: LoadLevel = { workers: 0, duty: 0 };

  get level(): LoadLevel {
    return this.current;
  }

  async set(level: LoadLevel): Promise<void> {
    if (level.workers === this.current.workers && level.duty === this.current.duty) return;
    await this.stop();
    for (let i = 0; i < level.workers; i++) {
      this.workers.push(new Worker(WORKER_SOURCE, { eval: true, workerData: { duty: level.duty } }));
    }
    this.current = level;
    // let the workers start spinning before anything is timed
    if (level.workers > 0) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
    this.current = { workers: 0, duty: 0 };
  }
}
