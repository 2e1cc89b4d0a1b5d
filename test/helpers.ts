import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'src/cli/main.ts');

/** temp dirs made by the current test file, removed after its last test */
const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'latencylab-test-'));
  made.push(d);
  return d;
}

/** Runs the CLI from source (tsx) and returns exit code and output. */
export function cli(args: string[], db: string, cwd = ROOT) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--db', db, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliChild(args: string[], db: string) {
  return spawn(process.execPath, ['--import', 'tsx', CLI, '--db', db, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}
