import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * What a kernel implementation is tuned to: the vector width it pads channels to and the cache
 * sizes its working set is compared with. The regressors turn these into step features (channels
 * rounded up to the vector width, working set past L1/L2/L3), so they are stored with every model
 * and predictions on another machine use the facts of the machine that was measured.
 */
export interface HardwareFacts {
  /** float32 lanes of the vector unit the runtime's kernels use (AVX-512: 16, AVX2: 8, wasm SIMD: 4) */
  simdFloats: number;
  /**
   * channel block of onnxruntime's NCHWc convolutions (MLAS: the vector width on x86; 0 where the
   * runtime has no NCHWc path, e.g. wasm)
   */
  nchwcBlock: number;
  l1dBytes: number;
  l2Bytes: number;
  l3Bytes: number;
  /** where the cache sizes came from: 'getconf' or 'assumed' (typical server-CPU sizes) */
  source: string;
}

let cached: ReturnType<typeof probeHost> | undefined;

function probeHost() {
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    /* not Linux: fall back to AVX2 */
  }
  const nativeSimd = / avx512f/.test(flags) ? 16 : / avx2/.test(flags) || !flags ? 8 : 4;
  // as read, for naming the machine: the width above falls back to AVX2's where nothing was read
  const vectorExtension = !flags ? 'unknown' : / avx512f/.test(flags) ? 'AVX-512' : / avx2/.test(flags) ? 'AVX2' : / asimd/.test(flags) ? 'NEON' : / sse4_2/.test(flags) ? 'SSE4.2' : 'other';
  const sizes: Record<string, number> = {};
  try {
    const out = execFileSync('getconf', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const m of out.matchAll(/^(LEVEL1_DCACHE_SIZE|LEVEL2_CACHE_SIZE|LEVEL3_CACHE_SIZE)\s+(\d+)/gm)) sizes[m[1]!] = Number(m[2]);
  } catch {
    /* no getconf: assumed sizes below */
  }
  const ok = sizes.LEVEL1_DCACHE_SIZE && sizes.LEVEL2_CACHE_SIZE && sizes.LEVEL3_CACHE_SIZE;
  return {
    nativeSimd,
    vectorExtension,
    l1dBytes: sizes.LEVEL1_DCACHE_SIZE || 32768,
    l2Bytes: sizes.LEVEL2_CACHE_SIZE || 1 << 20,
    l3Bytes: sizes.LEVEL3_CACHE_SIZE || 32 << 20,
    source: ok ? 'getconf' : 'assumed',
  };
}

/** The facts for a device on this machine: wasm runtimes use 128-bit SIMD whatever the CPU has. */
export function hardwareFacts(device: string): HardwareFacts {
  cached ??= probeHost();
  const { nativeSimd, vectorExtension: _, ...caches } = cached;
  const wasm = device.endsWith('wasm');
  return { simdFloats: wasm ? 4 : nativeSimd, nchwcBlock: device.startsWith('ort-') && !wasm ? nativeSimd : 0, ...caches };
}

/** The host's vector extension as /proc/cpuinfo names it ('AVX-512', 'AVX2', 'NEON', 'SSE4.2', 'other'; 'unknown' where it could not be read). */
export function vectorExtension(): string {
  cached ??= probeHost();
  return cached.vectorExtension;
}

/**
 * Whether onnxruntime's NCHWc transformer (x86; nchwc_transformer.cc, TransformConv) runs a Conv in
 * the blocked layout, judged from its filter [cout, cin / groups, k, k] as the transformer does:
 * - groups = 1: input channels fewer than a block (read straight from NCHW) or whole blocks of them
 *   (output channels are padded up to the block);
 * - grouped: output channels whole blocks, and either depthwise (one input channel per group, as
 *   many groups as outputs) or whole blocks of channels per group, in and out — input channels
 *   *per group*, not in total: 32 channels in 8 groups (4 per group) run im2col + SGEMM.
 * `block` 0 (no NCHWc path, e.g. wasm): never.
 */
export function convRunsNchwc(cin: number, cout: number, groups: number, block: number): boolean {
  if (block <= 0) return false;
  if (groups === 1) return cin < block || cin % block === 0;
  if (cout % block !== 0) return false;
  if (cin === groups && cout === groups) return true;
  return (cin / groups) % block === 0 && cout % groups === 0 && (cout / groups) % block === 0;
}
