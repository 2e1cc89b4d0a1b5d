import { UserError } from '../util/errors.js';
import { OrtCpuRuntime, OrtWasmRuntime } from './ort.js';
import { TfjsWasmRuntime } from './tfjs.js';
import type { Runtime } from './types.js';

export const DEVICES = ['ort-cpu', 'ort-wasm', 'tfjs-wasm'] as const;

export function getRuntime(device: string): Runtime {
  switch (device) {
    case 'ort-cpu':
      return new OrtCpuRuntime();
    case 'ort-wasm':
      return new OrtWasmRuntime();
    case 'tfjs-wasm':
      return new TfjsWasmRuntime();
    default:
      throw new UserError(`unknown device '${device}', expected one of: ${DEVICES.join(', ')}`, 'device');
  }
}

export type { Runtime, Prepared } from './types.js';
