#!/usr/bin/env bash
# Session 38: is session 37's change (wide kernel spaces + constant-operand elementwise priced as a
# unary activation, adopted at 16463cf) also what the choice data prefers on 2 threads and wasm?
# Runs the report step of the code before the change (bae4aa5: the old spaces and pricing) with the
# dbnet family added, on a store holding the old module datasets (OLD_STORE: the bench store as it
# was before the change) plus the dbnet networks' measurements and per-node profiles copied from
# the current bench store (NEW_STORE) — the same network measurements the current report judges,
# so the two reports differ only in the module predictors and the pricing.
#   OLD_STORE=.latencylab/models-s36.db SETTINGS=t2,wasm bash scripts/models-adoption-check.sh
# The report step alone: ~15–25 min; its accuracy figures do not depend on timing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLD_STORE=${OLD_STORE:?the bench store from before the change}
NEW_STORE=${NEW_STORE:-$ROOT/.latencylab/models.db}
SETTINGS=${SETTINGS:-t1,t2,wasm}
WORK=$(mktemp -d /tmp/ll-adoption.XXXXXX)
git worktree add --detach "$WORK/tree" bae4aa5 >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true' EXIT
git -C "$WORK/tree" checkout 16463cf -- src/modelgen/families.ts src/modelgen/index.ts
ln -s "$ROOT/node_modules" "$WORK/tree/node_modules"
(cd "$WORK/tree" && npx tsc -p . >/dev/null)
cp "$OLD_STORE" "$WORK/models.db"
sqlite3 "$WORK/models.db" <<SQL
ATTACH '$NEW_STORE' AS new;
INSERT INTO model_runs (collection, model, device_key, create_ms, latency_ms, stats_json, env_id, measured_at, probe_ms, pass)
  SELECT collection, model, device_key, create_ms, latency_ms, stats_json, env_id, measured_at, probe_ms, pass FROM new.model_runs WHERE model LIKE 'dbnet-%';
INSERT INTO model_profiles SELECT * FROM new.model_profiles WHERE model LIKE 'dbnet-%';
SQL
(cd "$WORK" && LATENCYLAB_BENCH_DB=$WORK/models.db MODELS_BENCH_SETTINGS=$SETTINGS node "$WORK/tree/bin/measure-run.js" "$WORK/tree/dist/bench/models.js" >log 2>&1)
mkdir -p scratch && cp "$WORK/reports/models.md" scratch/adoption-old-models.md
echo "old code (bae4aa5 + dbnet family), $SETTINGS:"
node scripts/models-report-summary.mjs "$WORK/reports/models.md" old
echo "current report:"
node scripts/models-report-summary.mjs reports/models.md new
rm -rf "$WORK"
