// Which commands the launcher (latencylab.js) runs in its own process.

/**
 * Commands that time nothing run in the launcher's process: a second Node start-up is ~0.1 s of
 * a 0.6 s `latencylab predict`. Listed by what they do not do, so a command missing here (a new
 * one) is re-run with one pool thread — the safe side. `predict --now` times a machine probe.
 */
const TIMES_NOTHING = new Set(['help', 'modules', 'datasets', 'export', 'tasks', 'monotonicity', 'proxy', 'generate', 'serve']);

/** whether the command line (the arguments after the script) times nothing */
export function timesNothing(args) {
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    if (args[i] === '-h' || args[i] === '--help') return true;
    i += args[i] === '--db' ? 2 : 1;
  }
  const command = args[i];
  if (command === undefined) return true;
  if (command === 'predict') return !args.includes('--now');
  return TIMES_NOTHING.has(command);
}
