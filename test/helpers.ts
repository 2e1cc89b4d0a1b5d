import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'src/cli/main.ts');

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'latencylab-test-'));
}

/** Runs the CLI from source (tsx) and returns exit code and output. */
export function cli(args: string[], db: string, cwd = ROOT) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--db', db, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliChild(args: string[], db: string) {
  return spawn(process.execPath, ['--import', 'tsx', CLI, '--db', db, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}
