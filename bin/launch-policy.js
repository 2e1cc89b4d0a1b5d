// Which commands the launcher (latencylab.js) runs in its own process.

/**
 * Commands that time nothing run in the launcher's process: a second Node start-up is ~0.1 s of
 * a 0.6 s `latencylab predict`. Listed by what they do not do, so a command missing here (a new
 * one) is re-run with one pool thread — the safe side. `predict --now` times a machine probe.
 */
const TIMES_NOTHING = new Set(['help', 'modules', 'datasets', 'export', 'tasks', 'monotonicity', 'proxy', 'generate', 'serve']);

/** the global options before the command (`--db` takes a value) and where the command starts */
function splitCommand(args) {
  const options = [];
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    options.push(args[i]);
    i += args[i] === '--db' ? 2 : 1;
  }
  return { options, i };
}

/** whether the command line (the arguments after the script) times nothing */
export function timesNothing(args) {
  const { options, i } = splitCommand(args);
  if (options.includes('-h') || options.includes('--help')) return true;
  const command = args[i];
  if (command === undefined) return true;
  if (command === 'predict') return !args.includes('--now');
  return TIMES_NOTHING.has(command);
}

/**
 * V8 flags a command's process needs, set when the process starts (the launcher re-runs itself
 * with those missing). `cache serve` and `cache replay` run the caching engine: onnxruntime-node
 * returns every output in a new ArrayBuffer, V8 counts that memory towards its old-generation
 * limit, and with the default (small) limit the caching server ran a full collection every ~230
 * requests, its concurrent marking taking 110–220 µs a request on V8's helper threads against
 * 10–30 µs for the plain model. A 64 MB initial old space (an allocation limit, not a reservation):
 * helper threads 23–83 µs a request and the same server 17–26 % more requests per second at 1 client
 * in three interleaved pairs (scratch per-thread CPU split, 11:41Z, reports/earlyexit-history.md).
 */
export const ENGINE_V8_FLAGS = ['--initial-old-space-size=64'];

/** the V8 flags the command line (the arguments after the script) needs in its process */
export function v8FlagsFor(args) {
  const { i } = splitCommand(args);
  return args[i] === 'cache' && (args[i + 1] === 'serve' || args[i + 1] === 'replay') ? ENGINE_V8_FLAGS : [];
}
