#!/usr/bin/env bash
# Whether a family's held-out error is real: generate fresh networks of some families (seeds never
# used by bench:models: from 3001), measure each with `latencylab measure --compare` (3 passes, the
# bench store's predictor and machine-state reading, a copy of the store so nothing is written to
# it), in one shuffled order, and print predicted ÷ measured per family (median, ±10 % share).
# Run alone (it measures), after bench:models:
#   bash scripts/models-fresh-family-check.sh <t1|t2> <n per family> <family,family,...>
set -euo pipefail
if [[ $# -ne 3 || ! $1 =~ ^t[12]$ || ! $2 =~ ^[1-9][0-9]*$ ]]; then
  echo 'usage: bash scripts/models-fresh-family-check.sh <t1|t2> <n per family> <family,family,...>' >&2
  exit 2
fi
store=${LATENCYLAB_BENCH_DB:-.latencylab/models.db}
[[ -f $store ]] || { echo "$store: no bench store (run npm run bench:models, or set LATENCYLAB_BENCH_DB)" >&2; exit 2; }
threads=${1#t}; n=$2; families=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$store" "$work/store.db"
node dist/cli/main.js generate --family "$families" -n "$n" --seed 3001 -o "$work/m" > /dev/null
for f in $(ls "$work/m" | shuf --random-source=<(yes)); do
  LATENCYLAB_DB="$work/store.db" node dist/cli/main.js measure "$work/m/$f" --threads "$threads" --compare --json > "$work/$f.json"
done
node -e '
const fs = require("node:fs"); const dir = process.argv[1];
const by = {};
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".json"))) {
  const j = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
  const fam = f.replace(/-\d+\.onnx\.json$/, "");
  (by[fam] ??= []).push(j.predictedMs / j.latencyMs);
}
for (const [fam, r] of Object.entries(by)) {
  r.sort((a, b) => a - b);
  console.log(`${fam.padEnd(14)} n ${r.length}  median predicted/measured ${r[r.length >> 1].toFixed(3)}  within ±10 % ${(100 * r.filter((x) => Math.abs(x - 1) <= 0.1).length / r.length).toFixed(1)} %  ratios ${r.map((x) => x.toFixed(2)).join(" ")}`);
}' "$work"
