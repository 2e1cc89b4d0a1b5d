// How often the conv2d reference configuration's rounds run slow over SECS seconds (a round median
// over 0.9 ms: the quiet level on the session-48 AMD VM was ~0.66–0.72 ms), optionally with a Node
// busy loop on the other vCPU (BUSY=1). Session 48: under the measuring environment
// (`node bin/measure-run.js …`) 0.5 % with the loop; started plainly (`node scripts/…`) 0.9 %
// without it and 16.6 % with it.
//   npm run build && SECS=20 BUSY=1 node bin/measure-run.js scripts/reference-slow-rounds.mjs
import { spawn } from 'node:child_process';
import { getModule } from '../dist/modules/index.js';
import { getRuntime } from '../dist/runtimes/index.js';
import { measureConfig, referenceParams } from '../dist/profile/profiler.js';
import { DEFAULT_TIMING } from '../dist/profile/timer.js';

const m = getModule('conv2d');
const rt = getRuntime('ort-cpu');
const cfg = { params: referenceParams(m), device: { threads: 1, optLevel: 'all', loadWorkers: 0, loadDuty: 0 } };
const busy = process.env.BUSY === '1' ? spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }) : undefined;
const rounds = [];
try {
  const t0 = Date.now();
  while (Date.now() - t0 < Number(process.env.SECS ?? 20) * 1000) rounds.push(...(await measureConfig(rt, m, cfg, DEFAULT_TIMING)).timing.roundMediansMs);
} finally {
  busy?.kill('SIGKILL');
}
const slow = rounds.filter((x) => x > Number(process.env.SLOW_MS ?? 0.9)).length;
console.log(`reference rounds ${rounds.length}, quietest ${Math.min(...rounds).toFixed(3)} ms, slow (> ${process.env.SLOW_MS ?? 0.9} ms) ${((100 * slow) / rounds.length).toFixed(1)} %${busy ? ', a busy loop on the other vCPU' : ''}`);
