// How much the optimiser's time per device and budget (bench:scale's "timing": calibration on the
// 10 references, then one design per budget at the 25/50/75th percentiles, 21 repeats per device,
// medians) varies between fresh Node processes running the same code on the same trained networks.
//   npm run build && node scripts/scale-calibration-study.mjs   # trains and caches the networks once
//   PROCS=8 node scripts/scale-timing-spread.mjs
// Each child process times ROUNDS rounds over the HELP test devices and reports the median round
// after the first 4 (warm-up); the parent prints every process's figure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (process.env.SPREAD_CHILD) {
  const { loadLatencyData, requireDevice } = await import('../dist/data/latency.js');
  const { decideDesign, DEFAULT_RULES } = await import('../dist/scale/design.js');
  const { budgetsAt } = await import('../dist/scale/evaluate.js');
  const { DesignOptimiser } = await import('../dist/scale/optimiser.js');
  const { PairPredictor } = await import('../dist/scale/pair.js');
  const { getTask } = await import('../dist/transfer/tasks.js');
  const { mean, median } = await import('../dist/util/stats.js');
  const d = loadLatencyData('nb201');
  const read = (name) => JSON.parse(readFileSync(`.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
  const pp = PairPredictor.fromState(d, read('pair'));
  const opt = DesignOptimiser.fromState(d, read('opt'));
  const rule = DEFAULT_RULES.nb201;
  const cases = getTask('nb201-help').test.map((dev) => {
    const t = requireDevice(d, dev);
    return { refs: d.referenceArchs.map((a) => t[a]), budgets: budgetsAt(t, [0.25, 0.5, 0.75]) };
  });
  const rounds = [];
  const calib = [];
  const decide = [];
  const [calibRound, decideRound] = [[], []];
  for (let round = 0; round < Number(process.env.ROUNDS ?? 12); round++) {
    const all = [];
    for (const c of cases) {
      const runs = c.budgets.map(() => []);
      const cal = [];
      const dec = [];
      for (let r = 0; r < 21; r++) {
        const t0 = performance.now();
        const dp = pp.forDevice(c.refs);
        const calibMs = performance.now() - t0;
        cal.push(calibMs);
        c.budgets.forEach((b, qi) => {
          const t1 = performance.now();
          decideDesign(opt, dp, b, d.accuracy, rule);
          const ms = performance.now() - t1;
          dec.push(ms);
          runs[qi].push(calibMs / c.budgets.length + ms);
        });
      }
      for (const x of runs) all.push(median(x));
      calibRound.push(median(cal));
      decideRound.push(median(dec));
    }
    rounds.push(mean(all));
    calib.push(mean(calibRound.splice(0)));
    decide.push(mean(decideRound.splice(0)));
  }
  const warm = (xs) => median(xs.slice(4));
  process.stdout.write(JSON.stringify({ first: rounds[0], warm: warm(rounds), calib: warm(calib), decide: warm(decide) }));
} else {
  const out = [];
  for (let p = 0; p < Number(process.env.PROCS ?? 8); p++) {
    out.push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, SPREAD_CHILD: '1' }, encoding: 'utf8' })));
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(3)).join(' ');
  const sorted = out.map((o) => o.warm).sort((a, b) => a - b);
  console.log(`per device and budget, ms — first round: ${fmt(out.map((o) => o.first))}`);
  console.log(`warm (median of rounds 5+), per process: ${fmt(out.map((o) => o.warm))}; min ${sorted[0].toFixed(3)}, median ${sorted[sorted.length >> 1].toFixed(3)}, max ${sorted.at(-1).toFixed(3)}`);
  console.log(`of which calibration per device: ${fmt(out.map((o) => o.calib))}; one design: ${fmt(out.map((o) => o.decide))}`);
}
