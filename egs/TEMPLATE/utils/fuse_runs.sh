#!/usr/bin/env bash
# Late fusion of runs (run in egs/<corpus>): for each fold that every run decoded, the mean of their
# posteriors (and V/A/D) as a new experiment exp/<tag>, scored and aggregated like a run of ser.sh
# (exp/<tag>/RESULTS.md; kept in --keep_scores like any fold). Typical use: the seeds of one
# system, e.g. exp/X, exp/X_seed_1, exp/X_seed_2 -> --tag X_fused_3seeds.
# Each fused fold records what it was fused from (the runs' tags and their training inputs); a fold
# fused before from anything else is refused, never overwritten. With --keep_scores, a run's fold
# that is not decoded in its exp dir (gone, or restored from kept scores) is read from its kept
# record, which holds the fold's test outputs (exp/<tag>/members/<run>/); a fold found in neither
# is skipped (named in the log).
# Usage: utils/fuse_runs.sh --tag NAME [--eval_set test] [--keep_scores results/scores] run_tag run_tag...
set -euo pipefail
tag=""
eval_set=test
keep_scores=""
datadir=data
. ./path.sh
. utils/parse_options.sh
[ -n "${tag}" ] && [ $# -ge 2 ] || { echo "Usage: $0 --tag NAME [--eval_set test] [--keep_scores DIR] run_tag run_tag..." >&2; exit 1; }
log() { echo "$(date +%Y-%m-%dT%H:%M:%S) (fuse_runs.sh) $*"; }
[[ "${tag}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "fuse_runs.sh: --tag '${tag}': a letter or digit first, then letters, digits, '.', '_' or '-'" >&2; exit 1; }
exp=exp/${tag}
for r in "$@"; do
  [ "${r}" != "${tag}" ] || { echo "fuse_runs.sh: --tag ${tag} is one of the runs to fuse" >&2; exit 1; }
  [ -d exp/${r} ] || { [ -n "${keep_scores}" ] && [ -d ${keep_scores}/${r} ]; } || {
    echo "fuse_runs.sh: exp/${r} not found${keep_scores:+ (nor kept in ${keep_scores}/${r})}" >&2; exit 1; }
done
git_state=$(git -C "${SERTK_ROOT:-.}" describe --always --dirty 2>/dev/null || echo unknown)
cmd="utils/fuse_runs.sh --tag ${tag} --eval_set ${eval_set}${keep_scores:+ --keep_scores ${keep_scores}} $*"
n=$(cat ${datadir}/folds/num_folds)
score_dirs=()
for f in $(seq 1 ${n}); do
  decs=() inputs="fusion (mean):"
  for r in "$@"; do
    d=exp/${r}/fold${f}
    if [ ! -f ${d}/decode_${eval_set}/predictions.json ]; then
      got=none d=${exp}/members/${r}/fold${f}
      [ -z "${keep_scores}" ] || got=$(sertk keep-scores decode --from ${keep_scores} --tag ${r} --fold ${f} \
        --eval-set ${eval_set} --fold-dir ${d}) || exit 1  # kept without its outputs: refused
      [ "${got}" = restored ] || { decs=(); break; }
    fi
    decs+=(${d}/decode_${eval_set}); inputs+=" ${r} [$(cat ${d}/train.inputs)]"
  done
  if [ ${#decs[@]} -eq 0 ]; then log "fold${f}: not decoded on ${eval_set} in every run: skipped"; continue; fi
  out=${exp}/fold${f}
  if [ -f ${out}/train.inputs ] && [ "$(cat ${out}/train.inputs)" != "${inputs}" ]; then
    echo "fuse_runs.sh: ${out} was fused from other runs ('$(cat ${out}/train.inputs)'; now '${inputs}'): choose another --tag, or remove ${exp}" >&2
    exit 1
  fi
  mkdir -p ${out}
  echo "${inputs}" > ${out}/train.inputs
  { echo "fusion: mean"; echo "runs:"; for r in "$@"; do echo "- ${r}"; done; } > ${out}/config.yaml
  sertk fuse --out ${out}/decode_${eval_set} "${decs[@]}" >/dev/null
  log "fold${f}: $(sertk score --ref-dir ${datadir}/folds/fold${f}/${eval_set} --hyp-dir ${out}/decode_${eval_set} \
    --emotions ${datadir}/emotions.txt --out ${out}/score_${eval_set})"
  [ -z "${keep_scores}" ] || sertk keep-scores save --exp-dir ${exp} --to ${keep_scores} --folds ${f} \
    --eval-set ${eval_set} --git "${git_state}" --command "${cmd}" --num-folds ${n} >/dev/null
  score_dirs+=(${out}/score_${eval_set})
done
[ ${#score_dirs[@]} -gt 0 ] || { echo "fuse_runs.sh: no fold decoded on ${eval_set} in every run of: $*" >&2; exit 1; }
title=${tag}; [ ${#score_dirs[@]} -eq ${n} ] || title+=" (folds $(printf '%s\n' "${score_dirs[@]}" | sed 's#.*/fold\([0-9]*\)/.*#\1#' | tr '\n' ' ')of ${n})"
sertk aggregate --out ${exp}/RESULTS.md --title "${title}" --command "${cmd}" --git "${git_state}" \
  --resolved-config $(dirname ${score_dirs[0]})/config.yaml "${score_dirs[@]}"
