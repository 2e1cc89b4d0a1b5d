/**
 * A device setting: how a runtime is configured for a measurement. It lives with the runtimes
 * (which consume it); the space-file parser, the profiler and the store import it from here.
 */
export const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type OptLevel = (typeof OPT_LEVELS)[number];

export interface LoadLevel {
  /** busy background workers (threads) */
  workers: number;
  /** fraction of each 10 ms period a worker spins, in (0, 1] */
  duty: number;
}

export interface DeviceSettings {
  threads: number;
  optLevel: OptLevel;
  loadWorkers: number;
  loadDuty: number;
}
