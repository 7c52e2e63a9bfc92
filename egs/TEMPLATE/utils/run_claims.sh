#!/usr/bin/env bash
# Train, infer and score every experiment a claims file names and has not finished, then write
# REPRODUCTION.md (per-fold pair plots in results/<claims file name>/). Run in egs/<corpus> after
# stages 1-3 (the features the runs read):
#   utils/run_claims.sh [--claims conf/claims.yaml] [--match REGEX] [--parallel 1] [--dry_run false]
#                       [--keep_scores results/scores] [run.sh options]
# e.g. on one GPU, three experiments at a time, five folds of each:
#   utils/run_claims.sh --parallel 3 --ngpu 1 --max_parallel_folds 5
# A claim side given as {exps, train_config, extract_config, train_args} says how its experiments
# are made: exps[0] with the training arguments as given, exps[N] with `seed=N` added, each under
# its own --tag (sertk compare --claims ... --runs lists them). Each experiment runs fold by fold
# (--fold_pipeline true): one cut off keeps its finished folds, and the same command resumes it.
# --match: only the experiments whose tag the regular expression finds. Its log: exp/<tag>/run_claims.log.
# Each scored fold is kept in results/scores/<tag>/ (--keep_scores DIR; ser.sh): commit those
# records, and a later checkout restores the folds they hold instead of training them again, so
# runs of many hours add up over sessions or machines; the report then reads every run whole.
# An experiment that reads another (train_args `A:from={system}`: the system's experiment of the
# same seed) is listed after it and, with --parallel, starts once it has ended.
set -euo pipefail
claims=conf/claims.yaml
match=""
parallel=1
dry_run=false
keep_scores=results/scores
passthrough=()  # everything else goes to run.sh
while [ $# -gt 0 ]; do
  case "$1" in
    --claims) claims=$2; shift 2 ;;
    --match) match=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --dry_run) dry_run=$2; shift 2 ;;
    --keep_scores) keep_scores=$2; shift 2 ;;
    --tag|--train_args|--train_config|--extract_config|--fold_pipeline|--stage|--stop_stage)
      echo "$0: $1 comes from the claims file" >&2; exit 1 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done
. ./path.sh
# N experiments at once share the cores: each run.sh sees its share (nproc honours OMP_NUM_THREADS)
export OMP_NUM_THREADS=$(( OMP_NUM_THREADS / parallel > 0 ? OMP_NUM_THREADS / parallel : 1 ))

pending() {  # captured, not read through <(...): a refused claims file (e.g. an unset $VAR) must stop us
  local out; out=$(sertk compare --claims "${claims}" --runs ${match:+--match "${match}"}) || exit 1
  [ -z "${out}" ] || printf '%s\n' "${out}"
}
list=$(pending) || exit 1
mapfile -t runs < <([ -z "${list}" ] || printf '%s\n' "${list}")
declare -A pid_of  # tag -> its run.sh, to wait for an experiment another one reads
echo "$(date +%FT%T) ${#runs[@]} experiment(s) to run from ${claims}, ${parallel} at a time"
for line in "${runs[@]}"; do
  eval "args=(${line})"  # shell-quoted by `sertk compare --runs`
  tag=${args[-1]}
  if ${dry_run}; then
    echo ./run.sh --stage 4 --stop_stage 6 --fold_pipeline true --keep_scores "${keep_scores@Q}" "${args[@]@Q}" "${passthrough[@]@Q}"
    continue
  fi
  # an experiment whose training reads another one (e.g. A:from=exp/<tag>) waits for it to end
  for ref in $(printf '%s\n' "${args[@]}" | grep -o 'exp/[A-Za-z0-9_.-]*' | sort -u || true); do
    dep=${ref#exp/}
    if [ "${dep}" != "${tag}" ] && [ -n "${pid_of[${dep}]:-}" ] && kill -0 "${pid_of[${dep}]}" 2>/dev/null; then
      echo "$(date +%FT%T) ${tag} waits for ${dep} (its training reads exp/${dep})"
      wait "${pid_of[${dep}]}" || true
    fi
  done
  while [ "$(jobs -rp | wc -l)" -ge "${parallel}" ]; do wait -n || true; done
  mkdir -p "exp/${tag}"
  echo "$(date +%FT%T) start ${tag} (log: exp/${tag}/run_claims.log)"
  ./run.sh --stage 4 --stop_stage 6 --fold_pipeline true --keep_scores "${keep_scores}" "${args[@]}" "${passthrough[@]}" \
    > "exp/${tag}/run_claims.log" 2>&1 &
  pid_of[${tag}]=$!
done
wait || true
${dry_run} && exit 0
sertk compare --claims "${claims}" --out REPRODUCTION.md --png "results/$(basename "${claims}" .yaml)" >/dev/null
echo "$(date +%FT%T) wrote REPRODUCTION.md"
list=$(pending) || exit 1
mapfile -t left < <([ -z "${list}" ] || printf '%s\n' "${list}")
if [ ${#left[@]} -gt 0 ]; then  # judged by what is finished, not by exit codes
  for line in "${left[@]}"; do eval "args=(${line})"; echo "not finished: exp/${args[-1]} (see exp/${args[-1]}/run_claims.log)" >&2; done
  exit 1
fi
