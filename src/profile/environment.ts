import os from 'node:os';
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
