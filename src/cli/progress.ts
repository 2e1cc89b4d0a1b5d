import cliProgress from 'cli-progress';
import type { ProfileHooks } from '../profile/profiler.js';

/**
 * Progress for long profiling runs: a bar with ETA on a terminal, a line every ~10 s otherwise
 * (CI logs, pipes), so that a user always knows how far along a run is.
 */
export function progressHooks(label: string, stopFlag: { stop: boolean }): ProfileHooks & { finish(): void } {
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: `${label} [{bar}] {value}/{total} | {rate}/min | ETA {eta_formatted}{waiting}`, stream: process.stderr, etaBuffer: 30 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastLog = 0;
  let startDone = 0;
  return {
    onStart(total, done) {
      startDone = done;
      if (done > 0) process.stderr.write(`${label}: resuming, ${done}/${total} samples already stored\n`);
      bar?.start(total, done, { rate: '-', waiting: '' });
    },
    onProgress(p) {
      const rate = ((p.done - startDone) / Math.max(p.elapsedMs, 1)) * 60_000;
      // the quiet gate's deferred configurations: why the rate drops while the host is slow
      const waiting = p.waiting ? ` | ${p.waiting} waiting for a quiet moment of the host` : '';
      if (bar) {
        bar.update(p.done, { rate: rate.toFixed(0), waiting });
      } else if (performance.now() - lastLog > 10_000 || p.done === p.total) {
        lastLog = performance.now();
        const eta = rate > 0 ? ((p.total - p.done) / rate) * 60 : NaN;
        process.stderr.write(`${label}: ${p.done}/${p.total} (${rate.toFixed(0)}/min, ETA ${Number.isFinite(eta) ? eta.toFixed(0) + ' s' : '?'}${waiting.replace(' | ', '; ')})\n`);
      }
    },
    shouldStop: () => stopFlag.stop,
    finish() {
      bar?.stop();
    },
  };
}

/**
 * Progress of counted steps in phases (`phase label: done/total`): rewritten in place on a
 * terminal; otherwise (CI logs, pipes) a line when a phase starts, every ~10 s and when it ends,
 * instead of one carriage-return-joined line of every step.
 */
export function phaseProgress(label: string): (phase: string, done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let [lastPhase, lastLog] = ['', 0];
  return (phase, done, total) => {
    const line = `${phase} ${label}: ${done}/${total}`;
    if (tty) return void process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    const now = performance.now();
    if (phase !== lastPhase || done === total || now - lastLog > 10_000) {
      [lastPhase, lastLog] = [phase, now];
      process.stderr.write(`${line}\n`);
    }
  };
}
