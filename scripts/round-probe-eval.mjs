// How well a network's measurement passes agree (share within ±5 % / ±10 % of their median, by
// median latency) when each measurement's machine state is read in different ways from the probes
// timed around its rounds (TimingStats.roundProbesMs; bench:models' network measurements since
// session 39): the probe before the whole measurement ('before', the old reading), the probes around
// the quietest round (mean / lower / higher / the one before), every round put at its own state
// (min or median over rounds), all of a measurement's probes. Reads the store only (no timing).
//   node scripts/round-probe-eval.mjs .latencylab/models.db ort-wasm/t1 calib,val
// Then the noise floor (test networks measured again later, collection recheck) under each reading.
// reports/models-history.md, session 39: 'quietest/bracket-min' became calibrate.ts's PER_ROUND.
import Database from 'better-sqlite3';
const [db0, dev = 'ort-wasm/t1', colls = 'calib,val'] = process.argv.slice(2);
if (!db0) {
  console.error('usage: node scripts/round-probe-eval.mjs STORE.db [DEVICE_KEY (ort-wasm/t1)] [COLLECTIONS (calib,val)]');
  process.exit(2);
}
let db;
try {
  db = new Database(db0, { readonly: true, fileMustExist: true });
  db.prepare('select 1 from model_runs limit 1').get();
} catch (e) {
  console.error(`${db0}: not a latencylab store with network measurements (${e.message})`);
  process.exit(2);
}
const rows = db.prepare(`select collection, model, latency_ms l, probe_ms p, stats_json s from model_runs where device_key=? and collection in (${colls.split(',').map((c) => `'${c}'`).join(',')})`).all(dev);
const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const est = {
  before: (r) => r.l / r.p,
  'quietest/bracket-mean': (r) => { const i = argmin(r.m); return r.m[i] / ((r.q[i] + r.q[i + 1]) / 2); },
  'quietest/bracket-min': (r) => { const i = argmin(r.m); return r.m[i] / Math.min(r.q[i], r.q[i + 1]); },
  'quietest/bracket-max': (r) => { const i = argmin(r.m); return r.m[i] / Math.max(r.q[i], r.q[i + 1]); },
  'quietest/probe-before-round': (r) => { const i = argmin(r.m); return r.m[i] / r.q[i]; },
  'min-normalised(bracket-mean)': (r) => Math.min(...r.m.map((m, i) => m / ((r.q[i] + r.q[i + 1]) / 2))),
  'median-normalised(bracket-mean)': (r) => med(r.m.map((m, i) => m / ((r.q[i] + r.q[i + 1]) / 2))),
  'quietest/min-all-probes': (r) => Math.min(...r.m) / Math.min(...r.q),
  'quietest/median-all-probes': (r) => Math.min(...r.m) / med(r.q),
  raw: (r) => r.l,
};
function argmin(a) { let j = 0; for (let i = 1; i < a.length; i++) if (a[i] < a[j]) j = i; return j; }
const by = new Map();
for (const r of rows) {
  const s = JSON.parse(r.s);
  if (!s.roundProbesMs) continue;
  const k = r.collection + '/' + r.model;
  if (!by.has(k)) by.set(k, []);
  by.get(k).push({ l: r.l, p: r.p, m: s.roundMediansMs, q: s.roundProbesMs });
}
const buckets = [[0, 5], [5, 30], [30, 1e9], [0, 1e9]];
console.log(dev, colls, by.size, 'networks');
for (const [name, f] of Object.entries(est)) {
  const cells = buckets.map(([lo, hi]) => {
    let n = 0, ok5 = 0, ok10 = 0;
    for (const rs of by.values()) {
      if (rs.length < 3) continue;
      const m0 = med(rs.map((r) => r.l)); if (m0 < lo || m0 >= hi) continue;
      const v = rs.map(f); const m = med(v);
      for (const x of v) { n++; if (Math.abs(x / m - 1) <= 0.05) ok5++; if (Math.abs(x / m - 1) <= 0.1) ok10++; }
    }
    return `${hi > 1e8 && lo === 0 ? 'all' : lo + '-' + hi}: ${(100 * ok5 / n).toFixed(1)}/${(100 * ok10 / n).toFixed(1)} (${n})`;
  });
  console.log(name.padEnd(34), cells.join(' | '));
}

// The noise floor under each reading: the test networks measured again in a later, separate run
// (collection 'recheck'), median of its passes against the median of the test passes.
const floorRows = db.prepare("select collection, model, latency_ms l, probe_ms p, stats_json s from model_runs where device_key=? and collection in ('test','recheck')").all(dev);
const sets = { test: new Map(), recheck: new Map() };
for (const r of floorRows) {
  const s = JSON.parse(r.s);
  if (!s.roundProbesMs) continue;
  const m = sets[r.collection];
  if (!m.has(r.model)) m.set(r.model, []);
  m.get(r.model).push({ l: r.l, p: r.p, m: s.roundMediansMs, q: s.roundProbesMs });
}
if (sets.recheck.size) {
  console.log(`noise floor: ${sets.recheck.size} test networks measured again in a later run, share within ±5 % / ±10 % of the first`);
  for (const [name, f] of Object.entries(est)) {
    let n = 0, ok5 = 0, ok10 = 0;
    for (const [k, rs] of sets.recheck) {
      const t = sets.test.get(k);
      if (!t) continue;
      const x = med(rs.map(f)) / med(t.map(f));
      n++;
      if (Math.abs(x - 1) <= 0.05) ok5++;
      if (Math.abs(x - 1) <= 0.1) ok10++;
    }
    console.log(name.padEnd(34), `${(100 * ok5 / n).toFixed(1)} / ${(100 * ok10 / n).toFixed(1)} (${n})`);
  }
}
