import os from 'node:os';
import type { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';

/**
 * The command-line ending every bench data script shares: run a resumable collection job, print
 * how long it took on which machine, close the store, and exit 130 when stopped by Ctrl-C, 2 on
 * a user error, 1 otherwise.
 */
export function runBenchJob(store: Store, job: () => Promise<boolean>): void {
  const t0 = Date.now();
  // through a promise, so a job that throws before its first await (bad input) is caught the same way
  Promise.resolve()
    .then(job)
    .then((done) => {
      console.log(`${done ? 'done' : 'stopped'} in ${((Date.now() - t0) / 60000).toFixed(1)} min on ${os.cpus()[0]?.model} (${os.cpus().length} cores)`);
      if (!done) process.exitCode = 130;
    })
    .catch((e) => {
      console.error(e instanceof UserError ? e.message : e);
      process.exitCode = e instanceof UserError ? 2 : 1;
    })
    .finally(() => store.close());
}
