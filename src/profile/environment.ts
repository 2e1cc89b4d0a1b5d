import os from 'node:os';
import { hardwareFacts, vectorExtension } from '../runtimes/hardware.js';
import type { Environment } from '../store/records.js';

export type { Environment };

/** The machine part of a sample's Environment (the runtime part comes from the runtime). */
export function describeMachine(): Pick<Environment, 'cpuModel' | 'cores' | 'os' | 'node' | 'hostname'> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    // the measuring environment is part of what a timing depends on (bin/measuring-env.js)
    node: `${process.version}${process.env.UV_THREADPOOL_SIZE ? ` UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}` : ''}${process.env.GLIBC_TUNABLES ? ` GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : ''}`,
    hostname: os.hostname(),
  };
}

/** 1-minute load average: recorded per sample so a noisy neighbour is visible afterwards. */
export const loadAverage1 = (): number => os.loadavg()[0]!;

/**
 * The machine as reports name it: the CPU model string alone does not tell two VMs apart ("AMD
 * EPYC" was an AVX-512 host with a 0.38 ms backbone in one session and an AVX2 host with a 0.77 ms
 * one in the next), so the vector extension and cache sizes the kernels see are part of the name.
 */
export function machineLabel(): string {
  const m = describeMachine();
  const hw = hardwareFacts('ort-cpu');
  const kib = (b: number) => (b >= 1 << 20 ? `${b >> 20} MiB` : `${b >> 10} KiB`);
  // cache sizes only where getconf gave them (not the assumed defaults)
  const caches = hw.source === 'getconf' ? `, L2 ${kib(hw.l2Bytes)}, L3 ${kib(hw.l3Bytes)}` : '';
  return `${m.cpuModel} (${vectorExtension()}${caches}), ${m.cores} cores`;
}
