import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/**
 * Data flows one way: measure (ir → modules → runtimes → store → profile) → predict (regressors →
 * select → wholemodel) → transfer / nas → earlyexit → serve / cli. A folder never imports from a
 * folder above it, not even a type.
 */
const LEVEL: Record<string, number> = {
  util: 0, types: 0, data: 0, report: 0, ir: 1, modules: 2, modelgen: 2, runtimes: 3, store: 4, profile: 5,
  regressors: 6, fleet: 6, select: 7, wholemodel: 8, transfer: 8, nas: 9, scale: 9, earlyexit: 10, serve: 11, bench: 12, cli: 12,
};

describe('layering', () => {
  it('no folder imports from a folder above it (types included)', () => {
    const src = path.join(ROOT, 'src');
    const folders = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => LEVEL[f] === undefined), 'every folder has a level').toEqual([]);
    const upward: string[] = [];
    for (const dir of folders) {
      for (const f of readdirSync(path.join(src, dir)).filter((x) => x.endsWith('.ts'))) {
        const text = readFileSync(path.join(src, dir, f), 'utf8');
        for (const m of text.matchAll(/from '\.\.\/([a-z]+)\//g)) if (LEVEL[m[1]!]! > LEVEL[dir]!) upward.push(`${dir}/${f} imports ${m[1]}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
