/**
 * Times whole-model prediction in a process that does nothing else, as the library or the HTTP
 * service runs it: the predictor bench:models stored for the setting (its chosen calibration and
 * in-graph correction, what `latencylab predict` uses), warmed up on the validation networks, then
 * each test network predicted once from its ONNX bytes with no module prediction remembered.
 * bench:models' own process holds every network's evaluation (a large heap the garbage collector
 * walks), which slowed the same predictions by up to half; it reports both.
 *
 *   node dist/bench/models-time.js <setting>      prints {"medianMs": …, "networks": …} on stdout
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../store/db.js';
import { median } from '../util/stats.js';
import { modelFromBytes } from '../wholemodel/model-file.js';
import { WholeModelPredictor } from '../wholemodel/predictor.js';
import { getModelSetting, modelsDbPath } from './models-data.js';
import { collectionModels } from './models-measure.js';

export function timePredictions(settingId: string): { medianMs: number; networks: number } {
  const s = getModelSetting(settingId);
  const predictor = WholeModelPredictor.open(new Store(modelsDbPath()), s);
  // the networks are written to files first and each is read just before it is predicted, as a
  // user hands one in: generating a network in the same breath left its garbage (weights, the
  // encoding) to the prediction's collector and doubled the time measured
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latencylab-time-'));
  try {
    const write = (c: 'val' | 'test') =>
      collectionModels(c, s).map((m, i) => {
        const f = m.load();
        const file = path.join(dir, `${c}-${i}.onnx`);
        writeFileSync(file, f.bytes);
        return { name: m.name, file, shape: f.inputs[0]?.shape };
      });
    const val = write('val');
    const test = write('test');
    const predictMs = (x: { name: string; file: string; shape?: number[] }) => {
      const bytes = new Uint8Array(readFileSync(x.file));
      predictor.clearMemo();
      const t0 = performance.now();
      predictor.predict(modelFromBytes(bytes, x.name, x.shape).imported);
      return performance.now() - t0;
    };
    for (let rep = 0; rep < 2; rep++) val.forEach(predictMs);
    const ms = test.map(predictMs);
    return { medianMs: median(ms), networks: ms.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(timePredictions(process.argv[2] ?? 't1')));
}
