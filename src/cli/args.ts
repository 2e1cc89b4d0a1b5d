import { InvalidArgumentError } from 'commander';

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

/**
 * First Ctrl-C: ask the running job to stop after its current chunk (everything measured so far
 * is already stored); second Ctrl-C: exit at once. Returns the flag and a function to uninstall.
 */
export function stopOnSigint(): { flag: { stop: boolean }; release(): void } {
  const flag = { stop: false };
  const handler = () => {
    if (flag.stop) process.exit(130);
    flag.stop = true;
    process.stderr.write('\nstopping after the current chunk (everything measured so far is stored)…\n');
  };
  process.on('SIGINT', handler);
  return { flag, release: () => process.off('SIGINT', handler) };
}
