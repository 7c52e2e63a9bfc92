#!/usr/bin/env bash
# Local job runner with Kaldi's run.pl calling convention (a bash implementation):
#   run.pl [--max_jobs_run N] [--num_threads N] [--gpu N] [--mem X] [JOB=A:B] LOGFILE COMMAND...
# Every occurrence of JOB in LOGFILE and COMMAND is replaced by the job index. Jobs run in
# parallel (at most --max_jobs_run at once); each log gets the command, its output and the
# exit code. Exits non-zero, naming the failed logs, if any job failed.
set -u
max_jobs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --max_jobs_run|--max-jobs-run) max_jobs=$2; shift 2 ;;
    --num_threads|--gpu|--mem|--time|--partition) shift 2 ;;  # meaningful on clusters only
    *) break ;;
  esac
done
. "$(dirname "$0")/job_range.sh"
failed=()
pids=()
run_one() {
  local i=$1 l=$log c=$cmd
  if [ -n "$jobvar" ]; then l=${l//$jobvar/$i}; c=${c//$jobvar/$i}; fi
  mkdir -p "$(dirname "$l")"
  { echo "# $c"; echo "# Started at $(date)"; } > "$l"
  ( eval "$c" ) >> "$l" 2>&1
  local rc=$?
  echo "# Ended (code $rc) at $(date)" >> "$l"
  return $rc
}
for i in $(seq "$start" "$end"); do
  run_one "$i" &
  pids+=("$!:$i")
  if [ "$max_jobs" -gt 0 ] && [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; then wait -n; fi
done
for p in "${pids[@]}"; do
  wait "${p%%:*}" || failed+=("${p##*:}")
done
if [ ${#failed[@]} -gt 0 ]; then
  for i in "${failed[@]}"; do
    l=$log; [ -n "$jobvar" ] && l=${l//$jobvar/$i}
    echo "run.pl: job $i failed, see $l:" >&2
    tail -n 15 "$l" | sed 's/^/  | /' >&2
  done
  exit 1
fi
exit 0
