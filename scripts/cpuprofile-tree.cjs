// The call tree under one function of a V8 CPU profile (node --cpu-prof): children merged by name,
// sorted by inclusive time (ms), branches under 40 ms left out. Run in the folder holding one profile:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/models-time.js t1
//   cd /tmp/prof && node /work/main/scripts/cpuprofile-tree.cjs predictMs [depth]
// Session 42 (reports/models-history.md): where a whole-model prediction's time goes.
const fs = require('node:fs');

const [target, depthArg = '4'] = process.argv.slice(2);
const file = fs.readdirSync('.').find((x) => x.endsWith('.cpuprofile'));
if (!target || !file) {
  console.error('usage: node cpuprofile-tree.cjs <function name> [depth], in a folder holding a .cpuprofile');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i]));
const inclusive = new Map();
const totalUs = (id) => {
  if (!inclusive.has(id)) inclusive.set(id, (selfUs.get(id) ?? 0) + (byId.get(id).children ?? []).reduce((a, c) => a + totalUs(c), 0));
  return inclusive.get(id);
};
const label = (n) => `${n.callFrame.functionName} ${n.callFrame.url.replace(/.*\/dist\//, '').replace(/.*node_modules\//, '')}:${n.callFrame.lineNumber}`;

function show(ids, depth) {
  const merged = new Map();
  for (const id of ids) for (const c of byId.get(id).children ?? []) merged.set(label(byId.get(c)), [...(merged.get(label(byId.get(c))) ?? []), c]);
  const rows = [...merged].map(([name, cs]) => ({ name, cs, us: cs.reduce((a, c) => a + totalUs(c), 0) })).sort((a, b) => b.us - a.us);
  for (const r of rows.filter((x) => x.us >= 40_000)) {
    console.log(`${'  '.repeat(depth)}${(r.us / 1000).toFixed(0)} ${r.name}`);
    if (depth < Number(depthArg)) show(r.cs, depth + 1);
  }
}
const roots = profile.nodes.filter((n) => label(n).startsWith(target)).map((n) => n.id);
console.log(`${target}: ${(roots.reduce((a, id) => a + totalUs(id), 0) / 1000).toFixed(0)} ms`);
show(roots, 1);
