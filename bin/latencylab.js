#!/usr/bin/env node
// Launcher: runs the CLI in the measuring environment (measuring-env.js), re-running itself with
// it unless the command times nothing, and with the V8 flags the command needs (launch-policy.js).
import { fileURLToPath } from 'node:url';
import { timesNothing, v8FlagsFor } from './launch-policy.js';
import { launch } from './measuring-env.js';

// LATENCYLAB_MAIN lets the tests run the launcher against the TypeScript sources (with tsx)
const main = new URL(process.env.LATENCYLAB_MAIN ?? '../dist/cli/main.js', import.meta.url);
await launch(main.href, fileURLToPath(import.meta.url), timesNothing(process.argv.slice(2)), v8FlagsFor(process.argv.slice(2)));
