#!/usr/bin/env bash
# Session 37's second study (reports/models-history.md): with 20 calibration and 3 validation
# networks of a dense-prediction family at 256–640² added to the 1-thread bench (the `dense` family
# of scripts/models-dense-family.patch), does the choice data still prefer the committed predictor
# over wide kernel spaces + unary pricing of constant-operand elementwise ops
# (scripts/models-large-maps.patch)? Runs in a scratch worktree on copies of the bench store:
#   X: the store + the dense networks measured (calibration, validation, per-node profiles; ~1 min)
#   Y: X + the wide module datasets profiled (~4 min), predicted with LL_EW=const
# then the report step on both (two at a time, ~27 min; accuracy figures do not depend on timing),
# then both on the 24 held-out dense networks of models-dense-check.mjs (measured, ~4 min).
#   bash scripts/models-dense-family-study.sh          (alone on the machine: it measures)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STORE=${STORE:-$ROOT/.latencylab/models.db}
WORK=$(mktemp -d /tmp/ll-dense-family.XXXXXX)
[ -f "$STORE" ] || { echo "no bench store at $STORE (npm run bench:models first)" >&2; exit 2; }

# the commit the patches were written against (both adopted in session 38: the LL_EW switch
# and the `dense` family, named `dbnet` in the product, exist only in this study tree)
git worktree add --detach "$WORK/tree" bae4aa5 >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true' EXIT
git -C "$WORK/tree" apply "$ROOT/scripts/models-large-maps.patch" "$ROOT/scripts/models-dense-family.patch"
ln -s "$ROOT/node_modules" "$WORK/tree/node_modules"
(cd "$WORK/tree" && npx tsc -p . >/dev/null)
T=$WORK/tree
run() { node "$T/bin/measure-run.js" "$T/dist/bench/$1" "${@:2}"; }

mkdir -p "$WORK/X" "$WORK/Y"
cp "$STORE" "$WORK/X/models.db"
LATENCYLAB_BENCH_DB=$WORK/X/models.db run models-measure.js t1:calib+val t1:calib:nodes
cp "$WORK/X/models.db" "$WORK/Y/models.db"
LATENCYLAB_BENCH_DB=$WORK/Y/models.db run models-data.js t1
(cd "$WORK/X" && LATENCYLAB_BENCH_DB=$WORK/X/models.db MODELS_BENCH_SETTINGS=t1 run models.js >log 2>&1) &
(cd "$WORK/Y" && LL_EW=const LATENCYLAB_BENCH_DB=$WORK/Y/models.db MODELS_BENCH_SETTINGS=t1 run models.js >log 2>&1)
wait

echo "variant | choice ±10 % | choice RMSPE % | test ±10 % | PP-OCR det / rec / cls"
for v in X Y; do
  node scripts/models-report-summary.mjs "$WORK/$v/reports/models.md" "$v"
done
MEASURE_DB=$STORE LL_BIN=$T/bin/latencylab.js node scripts/models-dense-check.mjs "$WORK/dense" "X=$WORK/X/models.db" "Y=$WORK/Y/models.db:const"
rm -rf "$WORK"
