import { describe, expect, it } from 'vitest';
import { BENCH_SETTINGS, datasetName, MORE_SEED, settingSpace } from '../src/bench/regressors-data.js';
import { dataAtMachineState } from '../src/bench/regressors-state.js';
import { STATE_METHODS } from '../src/select/machine-state.js';
import { firstRunStudy, studyModule } from '../src/bench/regressors-study.js';
import { profile } from '../src/profile/profiler.js';
import { Store } from '../src/store/db.js';

describe('bench:regressors study on a small real dataset', () => {
  it('scores the zoo and MEDN on a separate test run, the noise floor from a re-measurement, and the combined model', async () => {
    const store = new Store(':memory:');
    const module = 'linear';
    const small = { batch: [1, 2], rows: [1, 16], in: { min: 16, max: 256, step: 16 }, out: { min: 16, max: 256, step: 16 } };
    const timing = { maxTimeMs: 20, rounds: 3 };
    for (const id of ['t1', 't2']) {
      const s = BENCH_SETTINGS.find((x) => x.id === id)!;
      const space = settingSpace(s, module);
      space.params = { ...space.params, ...small };
      // the quiet gate off: its retries would wait seconds on a noisy test machine (quiet-gate.test.ts covers it)
      const state = { probe: true, reference: true, quietGate: false as const };
      await profile(store, { module, device: s.device, samples: 50, name: datasetName('train', id, module), seed: 1, space, timing, ...state });
      await profile(store, { module, device: s.device, samples: 20, name: datasetName('test', id, module), seed: 2, space, timing, ...state });
      if (id === 't1') {
        // a second training run of other configurations (bench:regressors has one for conv2d)
        await profile(store, { module, device: s.device, samples: 30, name: datasetName('more', id, module), seed: MORE_SEED, space, timing, ...state });
        for (const [role, of] of [['recheck', 'test'], ['retrain', 'train']] as const) {
          const plan = store.plannedConfigs(store.requireDataset(datasetName(of, id, module)).id).slice(0, 10);
          await profile(store, { module, device: s.device, samples: 10, name: datasetName(role, id, module), seed: 3, space, timing, plan, ...state });
        }
      }
    }
    const { states, dataOf } = await dataAtMachineState(store, [module]);
    // the machine-state method is chosen where re-measured training configurations exist
    expect(states.get('t1')!.choices.get(module)!.candidates).toHaveLength(STATE_METHODS.length);
    expect(states.get('t1')!.choices.get(module)!.candidates[0]!.n).toBe(10);
    expect(states.get('t2')!.choices.get(module)!.candidates[0]!.n).toBe(0); // no re-measured training configurations there
    for (const c of states.get('t1')!.choices.get(module)!.candidates) expect(c.val10).toBeGreaterThanOrEqual(0);
    expect(dataOf.get(module)!.map((d) => d.s.id)).toEqual(['t1', 't2']);
    expect(dataOf.get(module)![0]!.rawNoise!.n).toBe(10);
    // the second run joined the first (less configurations either run or the test run has); t2 has none
    const t1Data = dataOf.get(module)![0]!;
    expect(t1Data.firstRunRows).toBe(50);
    expect(t1Data.train.length).toBeGreaterThan(50);
    expect(dataOf.get(module)![1]!.firstRunRows).toBeUndefined();
    const first = (await firstRunStudy(module, t1Data, () => undefined))!;
    expect(first.trainN + first.valN).toBe(50);
    expect(first.selected.test.n).toBe(t1Data.test.filter((r) => !t1Data.train.some((x) => x.params_json === r.params_json)).length);
    expect(await firstRunStudy(module, dataOf.get(module)![1]!, () => undefined)).toBeUndefined();
    const st = await studyModule(module, dataOf.get(module)!, () => undefined);
    expect(st.settings.map((s) => s.setting)).toEqual(['t1', 't2']);
    const t1 = st.settings[0]!;
    expect(t1.candidates.map((c) => c.kind)).toContain('medn');
    expect(t1.testN + t1.testOverlap).toBe(20);
    for (const c of t1.candidates) expect(c.test.n).toBe(t1.testN);
    expect(t1.noise!.n).toBe(10);
    expect(t1.noise!.within10).toBeGreaterThanOrEqual(0);
    expect(t1.candidates.filter((c) => c.selected).map((c) => c.kind)).toEqual([t1.selected.balanced]);
    // MEDN heads: latency on both settings, p90 and session creation of the main one
    expect(st.medn.map((t) => t.task)).toEqual(['latency@t1', 'p90@t1', 'create@t1', 'latency@t2']);
    expect(st.combined!.perSetting.map((p) => p.setting)).toEqual(['t1', 't2']);
    expect(st.importance!.groups.map((g) => g.group)).toEqual(expect.arrayContaining(['cost', 'param', 'kernel']));
    store.close();
  }, 180_000);
});
