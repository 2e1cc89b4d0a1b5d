// Dumps design answers (decideDesign, shortlistDesigns, the optimiser's candidate lists) of the
// build in DIST over every NB201 device, 12 FBNet devices, 8 budgets and 3–5 rules, so that a change
// meant to be faster only can be checked to answer exactly the same (session 53, reports/scale-history.md):
//   git worktree add /tmp/old <base> && (cd /tmp/old && ln -s /work/main/node_modules && npx tsc -p .)
//   DIST=/tmp/old/dist node scripts/scale-design-identity.mjs > /tmp/a.json
//   npm run build && node scripts/scale-design-identity.mjs > /tmp/b.json && cmp /tmp/a.json /tmp/b.json
// NB201 uses the networks of scripts/scale-calibration-study.mjs (.latencylab/scale-study/); FBNet
// small networks trained by the first run into /tmp and loaded by both.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const D = process.env.DIST ?? '../dist';
const { loadLatencyData, requireDevice } = await import(`${D}/data/latency.js`);
const { decideDesign, shortlistDesigns, designObjective } = await import(`${D}/scale/design.js`);
const { budgetsAt } = await import(`${D}/scale/evaluate.js`);
const { DesignOptimiser } = await import(`${D}/scale/optimiser.js`);
const { PairPredictor } = await import(`${D}/scale/pair.js`);
const out = [];
const qs = [0.05, 0.15, 0.25, 0.35, 0.5, 0.65, 0.75, 0.9];
// nb201: the study's networks
{
  const d = loadLatencyData('nb201');
  const read = (name) => JSON.parse(readFileSync(`/work/main/.latencylab/scale-study/nb201-${name}.json`, 'utf8'));
  const pp = PairPredictor.fromState(d, read('pair'));
  const opt = DesignOptimiser.fromState(d, read('opt'));
  for (const dev of d.devices) {
    const t = requireDevice(d, dev);
    const dp = pp.forDevice(d.referenceArchs.map((a) => t[a]));
    for (const b of budgetsAt(t, qs)) for (const rule of [{ candidates: 512, z: 0.5 }, { candidates: 64, z: 1 }, { candidates: 4000, z: 0.25, maxMargin: 0.1 }, { candidates: 1, z: 0 }, { candidates: 15000, z: 2 }]) {
      out.push(['nb201', dev, b, rule.candidates, decideDesign(opt, dp, b, d.accuracy, rule), shortlistDesigns(opt, dp, b, d.accuracy, rule, 4, 0)]);
      for (const m of [1, 37, 512, 2048]) out.push([dev, b, m, [...opt.candidates(dp.features, b, m)]]);
    }
  }
}
// fbnet: a small optimiser trained once (by the first build run), loaded by both
{
  const d = loadLatencyData('fbnet');
  const file = '/tmp/fbnet-opt-state.json';
  if (!existsSync(file)) {
    const o = await DesignOptimiser.train(d, d.devices.slice(0, 4), designObjective(d), { steps: 200, virtualDevices: 10, budgets: 10 });
    writeFileSync(file, JSON.stringify(o.state));
    const p = await PairPredictor.train(d, d.devices.slice(0, 4), { steps: 200 });
    writeFileSync('/tmp/fbnet-pair-state.json', JSON.stringify(p.state));
  }
  const opt = DesignOptimiser.fromState(d, JSON.parse(readFileSync(file, 'utf8')));
  const pp = PairPredictor.fromState(d, JSON.parse(readFileSync('/tmp/fbnet-pair-state.json', 'utf8')));
  const obj = designObjective(d).values;
  for (const dev of d.devices.slice(4, 16)) {
    const t = requireDevice(d, dev);
    const dp = pp.forDevice(d.referenceArchs.map((a) => t[a]));
    for (const b of budgetsAt(t, qs)) for (const rule of [{ candidates: 1024, z: 1, maxMargin: 0.15 }, { candidates: 64, z: 0.5 }, { candidates: 4999, z: 1 }]) {
      out.push(['fbnet', dev, b, rule.candidates, decideDesign(opt, dp, b, obj, rule), shortlistDesigns(opt, dp, b, obj, rule, 4, 0)]);
    }
  }
}
process.stdout.write(JSON.stringify(out));
