#!/usr/bin/env bash
# SLURM job runner with run.pl's calling convention (a bash implementation):
#   slurm.pl [--gpu N] [--num_threads N] [--mem X] [--time T] [--partition P] [JOB=A:B] LOGFILE COMMAND...
# Submits one array job with `sbatch --wait` and returns when it ends (non-zero if any task failed).
set -u
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) [ "$2" -gt 0 ] && opts+=("--gres=gpu:$2"); shift 2 ;;
    --num_threads) opts+=("--cpus-per-task=$2"); shift 2 ;;
    --mem) opts+=("--mem=$2"); shift 2 ;;
    --time) opts+=("--time=$2"); shift 2 ;;
    --partition) opts+=("--partition=$2"); shift 2 ;;
    --max_jobs_run|--max-jobs-run) max_jobs=$2; shift 2 ;;
    *) break ;;
  esac
done
. "$(dirname "$0")/job_range.sh"
if [ -n "$jobvar" ]; then
  log=${log//$jobvar/%a}; cmd=${cmd//$jobvar/\$SLURM_ARRAY_TASK_ID}
fi
mkdir -p "$(dirname "$log")"
array="${start}-${end}${max_jobs:+%$max_jobs}"
exec sbatch --wait --parsable "${opts[@]}" --array="$array" --output="$log" --chdir="$PWD" \
  --export=ALL --wrap="$cmd"
