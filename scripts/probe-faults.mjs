// The machine probe timed 25 times in a row in one process, with the minor page faults and system
// CPU time of each call (10 runs): shows whether per-run output buffers come from memory the process
// holds (0 faults) or from newly mapped memory (~196 faults per run for the probe's 802 KB output).
//   npm run build && node scripts/probe-faults.mjs                       (this process's environment)
//   node bin/measure-run.js scripts/probe-faults.mjs                     (the measuring environment)
//   UV_THREADPOOL_SIZE=1 GLIBC_TUNABLES= node scripts/probe-faults.mjs   (glibc's default thresholds)
import { MachineProbe } from '../dist/profile/probe.js';
import { getRuntime } from '../dist/runtimes/index.js';

const p = await MachineProbe.open(getRuntime('ort-cpu'), 1);
const out = [];
for (let i = 0; i < 25; i++) {
  const r0 = process.resourceUsage();
  const t = await p.time();
  const r1 = process.resourceUsage();
  out.push(`${t.toFixed(2)} ms/${r1.minorPageFault - r0.minorPageFault}/${((r1.systemCPUTime - r0.systemCPUTime) / 1000).toFixed(0)} ms`);
}
console.log(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? '(unset)'}\nprobe / page faults / system CPU, per call of 10 runs:\n${out.join('  ')}`);
await p.close();
