#!/usr/bin/env bash
# Stages 4-6 of ./run.sh for each output variant of the hierarchical conformer, then one
# table comparing them (exp/<prefix>_variants.md). Run from a recipe dir after stages 1-3.
#   utils/run_hier_variants.sh [--variants "baseline_d mtl"] [--prefix hier] [run.sh options]
# Selection follows the paper: valid UA for baseline_d, valid mean CCC for the others.
set -euo pipefail
variants="baseline_d baseline_c mtl hier_dc hier_cd"
prefix=hier
while [ $# -gt 0 ]; do
  case "$1" in
    --variants) variants=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    *) break ;;
  esac
done
results=()
for v in ${variants}; do
  metric=ccc; [ "${v}" = baseline_d ] && metric=ua
  ./run.sh --stage 4 --stop_stage 6 --train_config conf/train_conformer_hier.yaml \
    --train_args "model_conf.variant=${v} select_metric=${metric}" --tag "${prefix}_${v}" "$@"
  results+=("exp/${prefix}_${v}/RESULTS.json")
done
. ./path.sh
sertk summarize --out "exp/${prefix}_variants.md" "${results[@]}"
