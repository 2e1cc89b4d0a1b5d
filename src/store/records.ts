import type { Params } from '../modules/index.js';
import type { DeviceSettings } from '../runtimes/settings.js';

/**
 * What a measurement record holds, defined where it is stored: the profiler (which fills them)
 * imports these types from the store, never the other way round.
 */

/** the machine and runtime a sample was measured on */
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

/** one configuration to measure: module parameters and device settings */
export interface PlannedConfig {
  params: Params;
  device: DeviceSettings;
}

/** the statistics of one timed configuration */
export interface TimingStats {
  /**
   * The latency the models learn: the lowest of the round medians. Interference on a shared
   * machine only ever adds time, so the quietest round is the most repeatable estimate of what
   * the module costs (bench:profile reports its repeatability next to the pooled median's).
   */
  latencyMs: number;
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  stdMs: number;
  /** runs kept after outlier rejection */
  n: number;
  rejected: number;
  /** relative half-width of the median's 95% CI (McGill notch: 1.57·IQR/√n) */
  relCI: number;
  /** median of each round, in time order: their spread shows interference during the run */
  roundMediansMs: number[];
  /**
   * the machine probe timed before each round and after the last (rounds + 1 values), when the
   * measurement was probed per round (measure's `probeRound`): the state each round ran in
   */
  roundProbesMs?: number[];
  /** wall time spent timing those probes (not part of measuring the model) */
  roundProbesWallMs?: number;
}
