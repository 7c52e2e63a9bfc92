#!/usr/bin/env bash
# Stages 4-6 of ./run.sh for each output variant of the hierarchical conformer, then one
# table comparing them (exp/<prefix>_variants.md). Run from a recipe dir after stages 1-3.
#   utils/run_hier_variants.sh [--variants "baseline_d mtl"] [--prefix hier] [--train_args "..."] [run.sh options]
# --train_args are added after each variant's own (a later --train_args given to run.sh would
# replace them, silently training one variant five times).
# Selection follows the paper: valid UA for baseline_d, valid mean CCC for the others.
set -euo pipefail
variants="baseline_d baseline_c mtl hier_dc hier_cd"
prefix=hier
train_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --variants) variants=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --train_args) train_args=$2; shift 2 ;;
    --tag) echo "$0: the tags are <prefix>_<variant>: use --prefix" >&2; exit 1 ;;
    *) break ;;
  esac
done
results=()
for v in ${variants}; do
  metric=ccc; [ "${v}" = baseline_d ] && metric=ua
  ./run.sh --stage 4 --stop_stage 6 --train_config conf/train_conformer_hier.yaml \
    --train_args "model_conf.variant=${v} select_metric=${metric} ${train_args}" --tag "${prefix}_${v}" "$@"
  results+=("exp/${prefix}_${v}/RESULTS.json")
done
. ./path.sh
sertk summarize --out "exp/${prefix}_variants.md" "${results[@]}"
