/**
 * Entry of the cache-head trainer process (see ProcessTrainer): trains rounds sent by the serving
 * process, one at a time, and answers with weight snapshots and the calibration views.
 */
import { rmSync } from 'node:fs';
import type { HeadModel } from './head-model.js';
import { readRoundFile } from './round-file.js';
import { runRound, type RoundRecord, type TrainerReply, type TrainerRequest } from './trainer.js';

const models = new Map<string, HeadModel>();
/** the engine's live records, received once each */
const records = new Map<number, RoundRecord>();
// the parent is gone (however it died): nothing left to train for
process.on('disconnect', () => process.exit(0));

let queue: Promise<void> = Promise.resolve();
process.on('message', (m: TrainerRequest) => {
  queue = queue.then(async () => {
    let reply: Omit<TrainerReply, 'cpuMicros' | 'rss'>;
    try {
      const round = readRoundFile(m.file);
      rmSync(m.file, { force: true });
      for (const [id, r] of round.add) records.set(id, r);
      const keep = new Set(round.keep);
      for (const id of records.keys()) if (!keep.has(id)) records.delete(id);
      reply = { id: m.id, results: await runRound(models, records, round.heads, round.options) };
    } catch (e) {
      reply = { id: m.id, error: (e as Error).message };
    }
    const u = process.cpuUsage();
    process.send!({ ...reply, cpuMicros: u.user + u.system, rss: process.memoryUsage().rss } satisfies TrainerReply);
  });
});
