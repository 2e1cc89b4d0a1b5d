#!/usr/bin/env bash
# Session 37's study (reports/models-history.md): on 1 thread, do wider kernel spaces (maps up to
# 320², convolutions up to 1.2e9 MACs) and pricing elementwise ops whose second operand is a
# constant (or a small broadcast tensor) as a unary activation help whole-model prediction?
# Applies scripts/models-large-maps.patch (the widened KERNEL_SPACES, and an LL_EW=const|bcast
# switch in the elementwise mapping) in a scratch worktree and runs the bench:models report step for
# 1 thread on a copy of the bench store per variant; prints each one's choice-data and test figures,
# then each one's accuracy on 24 generated dense-prediction networks at 256–640² (models-dense-check.mjs).
#
#   bash scripts/models-large-maps-study.sh            all six variants (about 1.5 h)
#   VARIANTS="base const" bash scripts/models-large-maps-study.sh
#
# Needs `.latencylab/models.db` with the 1-thread data measured (`npm run bench:models`). It
# measures: the wide variants profile five module datasets again (~4 min, alone). Reports run two at
# a time — their accuracy figures do not depend on timing; their time columns are not comparable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STORE=${STORE:-$ROOT/.latencylab/models.db}
VARIANTS=${VARIANTS:-"base const bcast wide wide-poly2 wide-const"}
WORK=$(mktemp -d /tmp/ll-large-maps.XXXXXX)
[ -f "$STORE" ] || { echo "no bench store at $STORE (npm run bench:models first)" >&2; exit 2; }

# the commit the patches were written against (both adopted in session 38: the LL_EW switch
# and the `dense` family, named `dbnet` in the product, exist only in this study tree)
git worktree add --detach "$WORK/tree" bae4aa5 >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true' EXIT
git -C "$WORK/tree" apply "$ROOT/scripts/models-large-maps.patch"
ln -s "$ROOT/node_modules" "$WORK/tree/node_modules"
(cd "$WORK/tree" && npx tsc -p . >/dev/null)
T=$WORK/tree

needs_wide() { case "$1" in wide*) return 0 ;; *) return 1 ;; esac; }
if printf '%s\n' $VARIANTS | grep -q '^wide'; then
  # the widened module datasets, measured once for every wide variant
  cp "$STORE" "$WORK/wide.db"
  LATENCYLAB_BENCH_DB=$WORK/wide.db node "$T/bin/measure-run.js" "$T/dist/bench/models-data.js" t1
fi

report() { # variant
  local v=$1 dir=$WORK/$1 ew=''
  mkdir -p "$dir"
  if needs_wide "$v"; then cp "$WORK/wide.db" "$dir/models.db"; else cp "$STORE" "$dir/models.db"; fi
  case "$v" in *const) ew=const ;; bcast) ew=bcast ;; esac
  # the conv2d predictor fixed to poly2 (the report's choice of kernels is otherwise left alone)
  [ "$v" = wide-poly2 ] && node "$T/bin/latencylab.js" --db "$dir/models.db" train --dataset conv2d@ort-cpu/t1 --kinds poly2 --machine-state probe:0 >/dev/null
  (cd "$dir" && LL_EW=$ew LATENCYLAB_BENCH_DB=$dir/models.db MODELS_BENCH_SETTINGS=t1 node "$T/bin/measure-run.js" "$T/dist/bench/models.js" >"$dir/log" 2>&1)
}

set -- $VARIANTS
while [ $# -gt 0 ]; do
  report "$1" & p1=$!
  if [ $# -gt 1 ]; then report "$2" & p2=$!; wait $p2; shift; fi
  wait $p1; shift
done

echo "variant | choice ±10 % | choice RMSPE % | test ±10 % | PP-OCR det / rec / cls"
for v in $VARIANTS; do
  node scripts/models-report-summary.mjs "$WORK/$v/reports/models.md" "$v"
done

# the same variants on held-out dense-prediction networks at 256–640² (the regime the choice data
# barely reaches): measured once here (~4 min, alone), predicted by each variant's store
specs=()
for v in $VARIANTS; do
  ew=''
  case "$v" in *const) ew=const ;; bcast) ew=bcast ;; esac
  specs+=("$v=$WORK/$v/models.db${ew:+:$ew}")
done
MEASURE_DB=$STORE LL_BIN=$T/bin/latencylab.js node scripts/models-dense-check.mjs "$WORK/dense" "${specs[@]}"
rm -rf "$WORK"
