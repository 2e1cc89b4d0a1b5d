import { describe, expect, it } from 'vitest';
import { getModule } from '../src/modules/index.js';
import { parseIntListArg, parseLoadArg, parseSpace } from '../src/profile/space.js';
import { isUserError } from '../src/util/errors.js';
import { Rng } from '../src/util/random.js';

const conv = getModule('conv2d');

describe('space file validation', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /space: expected an object, got \[\]/],
    [{ params: { kernel: [3] } }, /params: unknown key 'kernel', expected parameters of module conv2d: batch, hw, cin, cout, k, stride, groups, pad/],
    [{ params: { k: [3, 'x'] } }, /params\.k: every value must be an integer/],
    [{ params: { k: [] } }, /params\.k: expected a non-empty list/],
    [{ params: { hw: { min: 10, max: 5 } } }, /params\.hw: 'max' \(5\) is smaller than 'min' \(10\)/],
    [{ params: { hw: { min: 0, max: 5 } } }, /params\.hw: 'min' must be an integer >= 1, got 0/],
    [{ params: { hw: { min: 1, max: 5, log: 'yes' } } }, /params\.hw: 'log' must be true or false/],
    [{ params: { pad: ['full'] } }, /params\.pad: value "full" is not one of same, valid/],
    [{ device: { threads: [0] } }, /device\.threads: every value must be an integer in \[1, 256\], got 0/],
    [{ device: { optLevel: ['max'] } }, /device\.optLevel: value "max" is not one of disabled, basic, extended, all/],
    [{ device: { load: [{ workers: 1, duty: 2 }] } }, /device\.load\[0\]: 'duty' must be a number in \(0, 1\]/],
    [{ device: { gpu: true } }, /device: unknown key 'gpu'/],
    [{ limits: { maxMacs: -1 } }, /limits\.maxMacs: must be a number > 0/],
    [{ module: 'dwconv' }, /is for module 'dwconv' but module 'conv2d' was asked for/],
  ];
  for (const [json, msg] of bad) {
    it(`rejects ${JSON.stringify(json)}`, () => {
      expect(() => parseSpace(json, conv)).toThrow(msg);
    });
  }

  it('accepts a full space and keeps defaults for what it leaves out', () => {
    const s = parseSpace({ params: { k: [1, 3], hw: { min: 8, max: 64, step: 8, log: true } }, device: { threads: [1, 2], optLevel: ['basic'], load: [{ workers: 1 }] } }, conv);
    expect(s.params.k).toEqual([1, 3]);
    expect(s.params.hw).toEqual({ min: 8, max: 64, step: 8, log: true });
    expect(s.params.cin).toEqual(conv.params.find((p) => p.name === 'cin')!.default);
    expect(s.device).toEqual({ threads: [1, 2], optLevel: ['basic'], load: [{ workers: 1, duty: 1 }] });
  });

  it('parses command-line lists', () => {
    expect(parseIntListArg('1-4', '--threads')).toEqual([1, 2, 3, 4]);
    expect(parseIntListArg('1,2', '--threads')).toEqual([1, 2]);
    expect(() => parseIntListArg('0', '--threads')).toThrow(/--threads/);
    expect(parseLoadArg('0,1@0.5,2')).toEqual([{ workers: 0, duty: 0 }, { workers: 1, duty: 0.5 }, { workers: 2, duty: 1 }]);
    expect(() => parseLoadArg('x')).toThrow(/--load/);
  });

  it('fuzz: mutated space objects give a Space or a UserError, never anything else', () => {
    const rng = new Rng(11);
    const atoms: unknown[] = [null, 0, -1, 1.5, 1e300, 'x', '', true, [], {}, [1], { min: 1 }, { min: 3, max: 2 }, NaN, [null], ['same']];
    const keys = ['params', 'device', 'limits', 'k', 'hw', 'threads', 'load', 'workers', 'duty', 'min', 'max', 'step', 'log', 'optLevel', 'pad', 'maxMacs', '__proto__'];
    const gen = (depth: number): unknown => {
      const r = rng.next();
      if (depth > 3 || r < 0.4) return atoms[rng.int(0, atoms.length - 1)];
      if (r < 0.6) return Array.from({ length: rng.int(0, 3) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: rng.int(0, 4) }, () => [keys[rng.int(0, keys.length - 1)], gen(depth + 1)]));
    };
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const json = gen(0);
      try {
        parseSpace(json, conv);
        ok++;
      } catch (e) {
        if (!isUserError(e)) throw new Error(`non-user error for ${JSON.stringify(json)}: ${e}`);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});
