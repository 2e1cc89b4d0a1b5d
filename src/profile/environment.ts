import os from 'node:os';

/** The machine + runtime a sample was measured on; stored with every sample. */
export interface Environment {
  cpuModel: string;
  cores: number;
  os: string;
  node: string;
  runtime: string;
  runtimeVersion: string;
  executionProvider: string;
  hostname: string;
}

export function describeMachine(): Pick<Environment, 'cpuModel' | 'cores' | 'os' | 'node' | 'hostname'> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    hostname: os.hostname(),
  };
}

/** 1-minute load average: recorded per sample so a noisy neighbour is visible afterwards. */
export const loadAverage1 = (): number => os.loadavg()[0]!;
