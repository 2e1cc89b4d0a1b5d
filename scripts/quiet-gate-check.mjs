// Does re-measuring chunks measured in the host's slow state (profile's quiet gate,
// src/profile/quiet-gate.ts) make two runs of the same configurations agree better? Profiles the
// same N configurations of a module twice with the gate and twice without, into a scratch store,
// and prints how many of run B's samples fall within ±5 / ±10 % of run A's (after the runs' median
// ratio), and how often each run measured a chunk again. Run alone: it takes latency figures.
//   npm run build && node bin/measure-run.js scripts/quiet-gate-check.mjs
//   TOGGLE=1 …  also keeps the other vCPU busy in random episodes (1–4 s on, 2–8 s off). Meant to
//               make slow phases on demand, it did not (session 48: no chunk measured again in any
//               run; under the measuring environment such a loop does not slow the reference,
//               scripts/reference-slow-rounds.mjs), so the check depends on the host's own phases
//   MODULE=conv2d N=240 THREADS=1
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getModule } from '../dist/modules/index.js';
import { profile } from '../dist/profile/profiler.js';
import { defaultSpace } from '../dist/profile/space.js';
import { Store } from '../dist/store/db.js';

const MODULE = process.env.MODULE ?? 'conv2d';
const N = Number(process.env.N ?? 240);
const THREADS = Number(process.env.THREADS ?? 1);
const dir = mkdtempSync(path.join(os.tmpdir(), 'quiet-gate-'));
const store = new Store(path.join(dir, 'check.db'));
const space = defaultSpace(getModule(MODULE));
space.device = { threads: [THREADS], optLevel: ['all'], load: [{ workers: 0, duty: 0 }] };
// a busy loop in a child process: on 1–4 s, off 2–8 s, until killed
const BUSY = `let s = 7; const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647);
const cycle = () => { const end = Date.now() + 1000 + 3000 * rnd(); while (Date.now() < end); setTimeout(cycle, 2000 + 6000 * rnd()); };
cycle();`;
const toggler = process.env.TOGGLE === '1' ? spawn(process.execPath, ['-e', BUSY], { stdio: 'ignore' }) : undefined;
const rows = {};
try {
  // A and B of each setting back to back, the settings alternating: off-A, on-A, off-B, on-B
  for (const run of ['A', 'B']) {
    for (const gate of ['off', 'on']) {
      const t0 = performance.now();
      const r = await profile(store, { module: MODULE, device: 'ort-cpu', samples: N, space, seed: 31, name: `${gate}-${run}`, reference: true, quietGate: gate === 'on' ? undefined : false });
      const ds = store.getDataset(`${gate}-${run}`);
      rows[`${gate}-${run}`] = store.samples(ds.id);
      console.error(`${gate}-${run}: ${((performance.now() - t0) / 1000).toFixed(0)} s, chunks measured again ${r.slowChunks.retried}, kept slow ${r.slowChunks.keptSlow}`);
    }
  }
} finally {
  toggler?.kill('SIGKILL');
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
console.log(`${MODULE}, ${N} configurations, ort-cpu ${THREADS} thread(s)${process.env.TOGGLE === '1' ? ', the other vCPU busy in random episodes' : ''}`);
for (const gate of ['off', 'on']) {
  const a = new Map(rows[`${gate}-A`].map((r) => [r.params_json, r.latency_ms]));
  const e = rows[`${gate}-B`].filter((r) => a.has(r.params_json)).map((r) => r.latency_ms / a.get(r.params_json));
  const m = med(e);
  const w = (t) => ((100 * e.filter((x) => Math.abs(x / m - 1) <= t).length) / e.length).toFixed(1);
  console.log(`gate ${gate}: B/A median ${m.toFixed(3)}, within ±5 % ${w(0.05)} %, ±10 % ${w(0.1)} % (n ${e.length})`);
}
