import { InvalidArgumentError } from 'commander';
import { UserError } from '../util/errors.js';

/** commander argument parsers shared by every command */
export function positiveInt(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1.');
  return n;
}

export function positiveNumber(s: string): number {
  const n = Number(s);
  if (!(n > 0)) throw new InvalidArgumentError('expected a number > 0.');
  return n;
}

/** a number strictly between 0 and 1 */
export function fraction(s: string): number {
  const x = Number(s);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError('expected a number strictly between 0 and 1.');
  return x;
}

export function share(s: string): number {
  const x = Number(s);
  if (!(x >= 0 && x <= 1) || s.trim() === '') throw new InvalidArgumentError('expected a number from 0 to 1.');
  return x;
}

/** parser for comma-separated finite numbers, e.g. "1,3,48,192"; errors name `flag` */
export function numberList(flag: string) {
  return (s: string): number[] => {
    const xs = s.split(',').map((x) => Number(x.trim()));
    if (!xs.length || xs.some((x) => !Number.isFinite(x))) throw new UserError(`expected comma-separated numbers, got "${s}"`, flag);
    return xs;
  };
}

/**
 * A Ctrl-C at a terminal reaches the launcher and its measuring child (the whole process group),
 * and the launcher forwards its copy to the child (so a `kill -INT` of the launcher alone stops
 * the job too): the child sees one press as two signals milliseconds apart. Handlers take a repeat
 * within this many ms as the same press.
 */
export const SIGINT_REPEAT_MS = 300;

/**
 * First Ctrl-C: ask the running job to stop after its current chunk (everything measured so far
 * is already stored; `message` says so); second Ctrl-C: exit at once. Returns the flag and a
 * function to uninstall.
 */
export function stopOnSigint(message = 'stopping after the current chunk (everything measured so far is stored)…'): { flag: { stop: boolean }; release(): void } {
  const flag = { stop: false };
  let firstAt = 0;
  const handler = () => {
    if (flag.stop) {
      if (Date.now() - firstAt > SIGINT_REPEAT_MS) process.exit(130);
      return;
    }
    flag.stop = true;
    firstAt = Date.now();
    process.stderr.write(`\n${message}\n`);
  };
  process.on('SIGINT', handler);
  return { flag, release: () => process.off('SIGINT', handler) };
}

/** SIGINT and SIGTERM run `close` once (a Ctrl-C arrives twice, see SIGINT_REPEAT_MS) */
export function closeOnSignals(close: () => Promise<void>): void {
  let closing = false;
  const handler = () => {
    if (closing) return;
    closing = true;
    void close();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** a TCP port for --port (0 = any free one) */
export function port(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`expected a port 0..65535, got "${s}"`, '--port');
  return n;
}
