import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded on first use, not when the importing module loads: every CLI
 * command imports the whole command table, and loading pg-boss, fastify or the canvas up front
 * cost each command ~0.3 s before it did anything (`latencylab --help` took ~1 s, now 0.4:
 * scripts/cli-time-ab.mjs). Synchronous, so constructors and sync helpers can use it; the
 * instance is the one `import` would give (these packages have no separate ESM build).
 */
export function lazyRequire<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(name) as T);
}
