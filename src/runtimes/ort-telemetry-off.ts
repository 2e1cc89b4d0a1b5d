/**
 * onnxruntime-node 1.29+ ships telemetry on Linux and macOS (1DS): every process that creates a
 * session tries to upload events and writes /tmp/mat-debug-<pid>.log (on this machine, with no
 * network, ~1,400 such files after a day of benchmarks). latencylab measures latency offline and
 * must not send anything anywhere, so it opts out before onnxruntime initialises, unless the
 * user set the variable themselves. Checked: with ORT_DISABLE_TELEMETRY=1 no file appears
 * (ORT_TELEMETRY_DISABLED, named in some onnxruntime notes, has no effect in 1.30).
 *
 * Import this module before 'onnxruntime-node' (ort-node.ts does): ES modules evaluate their
 * imports in order, so the variable is set before the native library is loaded.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';
