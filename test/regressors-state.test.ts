import { describe, expect, it } from 'vitest';
import { chooseStateMethods, settingDataAt, stateGroups, type ModuleRuns } from '../src/bench/regressors-state.js';
import { BENCH_SETTINGS } from '../src/bench/regressors-data.js';
import { agreement, atState, parseStateMethod, stateFactors } from '../src/select/machine-state.js';
import { UserError } from '../src/util/errors.js';
import type { SampleRow } from '../src/store/db.js';
import { Rng } from '../src/util/random.js';

/** a run of `n` configurations, one chunk per second from `t0`, on a machine `state` times slower than nominal */
function run(n: number, t0: number, state: (i: number) => number, rng: Rng): SampleRow[] {
  return Array.from({ length: n }, (_, i) => {
    const base = 1 + i / 10;
    const st = state(i);
    return {
      params_json: JSON.stringify({ i }),
      latency_ms: base * st * (1 + (rng.next() - 0.5) * 0.02),
      p90_ms: base * st * 1.1,
      probe_ms: 1.5 * st * (1 + (rng.next() - 0.5) * 0.02),
      ref_ms: 0.8 * st * (1 + (rng.next() - 0.5) * 0.02),
      measured_at: new Date(t0 + i * 1000).toISOString(),
    } as SampleRow;
  });
}

describe('bench:regressors machine state', () => {
  const rng = new Rng(3);
  const train = run(40, 0, () => 1, rng);
  // the same first 20 configurations re-measured ten minutes later, on a machine 30 % slower
  const retrain = run(20, 600_000, () => 1.3, rng);
  const test = run(30, 300_000, (i) => (i < 15 ? 0.8 : 1.2), rng);
  const modules: ModuleRuns[] = [{ module: 'm', runs: { train, retrain, test } }];

  it('puts every sample at the training run\'s machine state by the probe or the reference', () => {
    const f = stateFactors(stateGroups(modules), { source: 'probe', windowS: 0 });
    expect(f.get(retrain[0]!)).toBeCloseTo(1 / 1.3, 1);
    expect(f.get(test[0]!)).toBeCloseTo(1 / 0.8, 1);
    expect(f.get(test[20]!)).toBeCloseTo(1 / 1.2, 1);
    const at = atState(test, f);
    expect(at[20]!.latency_ms).toBeCloseTo(test[20]!.latency_ms / 1.2, 1);
    expect(test[20]!.latency_ms).toBeGreaterThan(at[20]!.latency_ms); // the input rows are not touched
    expect(stateFactors(stateGroups(modules), { source: 'raw', windowS: 0 }).size).toBe(0);
    // a window wider than the test run's two phases blurs them: its second half is no longer at 1/1.2
    const wide = stateFactors(stateGroups(modules), { source: 'reference', windowS: 300 });
    expect(Math.abs(wide.get(test[20]!)! - 1 / 1.2)).toBeGreaterThan(0.05);
  });

  it('chooses the method under which the training run validates best, then the one under which re-measurements agree; as measured when nothing helps', async () => {
    expect(agreement(train, retrain, new Map()).within10).toBe(0);
    // a validation that cannot tell the states apart: the re-measurement agreement decides
    const flat = async () => 0.5;
    const choice = (await chooseStateMethods(modules, 'ort-cpu', flat)).get('m')!;
    expect(choice.method).toEqual({ source: 'probe', windowS: 0 });
    expect(choice.candidates.find((c) => c.method.source === 'probe' && c.method.windowS === 0)!.within5).toBe(1);
    // when the machine did not move, no signal beats the raw timings: the tie goes to 'as measured'
    const still: ModuleRuns[] = [{ module: 'm', runs: { train, retrain: run(20, 600_000, () => 1, rng) } }];
    expect((await chooseStateMethods(still, 'ort-cpu', flat)).get('m')!.method.source).toBe('raw');
    // the training run's validation accuracy comes first: a state it prefers wins over agreement
    const prefersRaw = async (_m: string, _d: string, rows: SampleRow[]) => (rows[0] === train[0] ? 0.9 : 0.5); // as measured: the rows untouched
    const byVal = (await chooseStateMethods(modules, 'ort-cpu', prefersRaw)).get('m')!;
    const chosen = byVal.candidates.find((c) => c.method === byVal.method)!;
    expect(chosen.val10).toBe(0.9); // (a probe window as wide as the training run leaves its rows untouched too)
    const tied = byVal.candidates.filter((c) => c.val10 === 0.9);
    expect(tied.length).toBeLessThan(byVal.candidates.length);
    expect(chosen.within5 + chosen.within10).toBe(Math.max(...tied.map((c) => c.within5 + c.within10)));
    // no re-measurements: however well a signal validates inside the run, the timings stay as measured
    const prefersProbe = async (_m: string, _d: string, rows: SampleRow[]) => (rows[0] === train[0] ? 0.5 : 0.9);
    const unchecked = (await chooseStateMethods([{ module: 'm', runs: { train, test } }], 'ort-cpu', prefersProbe)).get('m')!;
    expect(unchecked.method.source).toBe('raw');
    expect(unchecked.candidates.map((c) => c.method.source)).toEqual(['raw']);
  });
});

describe('bench:regressors second training run', () => {
  it('joins the first at the same machine state, without the configurations the first run or the test run has', () => {
    const rng = new Rng(5);
    const train = run(30, 0, () => 1, rng);
    const test = run(30, 100_000, () => 1, rng).map((r, i) => ({ ...r, params_json: JSON.stringify({ t: i }) }));
    // 40 configurations on a machine 20 % slower; its first 10 repeat the training run's, its next 5 the test run's
    const more = run(40, 200_000, () => 1.2, rng).map((r, i) => ({ ...r, params_json: i < 10 ? r.params_json : i < 15 ? JSON.stringify({ t: i }) : JSON.stringify({ m: i }) }));
    const runs: ModuleRuns = { module: 'm', runs: { train, test, more } };
    const method = { source: 'probe', windowS: 0 } as const;
    const d = settingDataAt(BENCH_SETTINGS[0]!, runs.runs, method, stateFactors(stateGroups([runs]), method))!;
    expect(d.train).toHaveLength(30 + 25);
    expect(d.firstRunRows).toBe(30);
    expect(d.train.slice(0, 30).map((r) => r.params_json)).toEqual(train.map((r) => r.params_json));
    expect(new Set(d.train.map((r) => r.params_json)).size).toBe(55);
    const testKeys = new Set(d.test.map((r) => r.params_json));
    expect(d.train.some((r) => testKeys.has(r.params_json))).toBe(false);
    // the slower run's rows are put back at the training run's state
    const joined = d.train.find((r) => r.params_json === JSON.stringify({ m: 20 }))!;
    expect(joined.latency_ms).toBeCloseTo(more[20]!.latency_ms / 1.2, 1);
    // no second run: the training run alone; no test run: nothing to judge on
    const alone = settingDataAt(BENCH_SETTINGS[0]!, { train, test }, method, new Map())!;
    expect(alone.train).toHaveLength(30);
    expect(alone.firstRunRows).toBeUndefined();
    expect(settingDataAt(BENCH_SETTINGS[0]!, { train, more }, method, new Map())).toBeUndefined();
  });
});

describe('train --machine-state parsing', () => {
  it('reads auto / raw / probe[:W] / reference[:W]; anything else is a UserError naming the option (fuzzed)', () => {
    expect(parseStateMethod('auto')).toBeUndefined();
    expect(parseStateMethod('raw')).toEqual({ source: 'raw', windowS: 0 });
    expect(parseStateMethod('probe')).toEqual({ source: 'probe', windowS: 0 });
    expect(parseStateMethod(' reference:7.5 ')).toEqual({ source: 'reference', windowS: 7.5 });
    for (const bad of ['', 'raw:5', 'auto:1', 'probe:', 'probe:-1', 'probe:1e3', 'reference:x', 'Probe', 'probe:5:5']) {
      expect(() => parseStateMethod(bad), bad).toThrow(UserError);
      expect(() => parseStateMethod(bad), bad).toThrow(/--machine-state: expected auto, raw/);
    }
    const rng = new Rng(17);
    const alphabet = 'proberaw:efncu0123456789.- ';
    for (let i = 0; i < 500; i++) {
      const s = Array.from({ length: Math.floor(rng.next() * 14) }, () => alphabet[Math.floor(rng.next() * alphabet.length)]).join('');
      try {
        const m = parseStateMethod(s);
        if (m) expect(Number.isFinite(m.windowS) && m.windowS >= 0).toBe(true);
      } catch (e) {
        expect(e, s).toBeInstanceOf(UserError);
      }
    }
  });
});
