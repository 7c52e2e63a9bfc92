#!/usr/bin/env bash
# Grid Engine job runner with run.pl's calling convention (a bash implementation):
#   queue.pl [--gpu N] [--num_threads N] [--mem X] [JOB=A:B] LOGFILE COMMAND...
# Submits one array job with `qsub -sync y` and returns when it ends.
set -u
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) [ "$2" -gt 0 ] && opts+=(-l "gpu=$2"); shift 2 ;;
    --num_threads) opts+=(-pe smp "$2"); shift 2 ;;
    --mem) opts+=(-l "mem_free=$2,ram_free=$2"); shift 2 ;;
    --max_jobs_run|--max-jobs-run) opts+=(-tc "$2"); shift 2 ;;
    --time|--partition) shift 2 ;;
    *) break ;;
  esac
done
. "$(dirname "$0")/job_range.sh"
if [ -n "$jobvar" ]; then
  log=${log//$jobvar/\$TASK_ID}; cmd=${cmd//$jobvar/\$SGE_TASK_ID}
fi
mkdir -p "$(dirname "$log")"
echo "cd $PWD && $cmd" | exec qsub -sync y -cwd -V -j y -o "$log" -t "${start}:${end}" "${opts[@]}"
