# Sourced by run.pl, slurm.pl and queue.pl after their own options: parses the optional
# `JOB=A:B` range and the log file, leaving jobvar, start, end, log and cmd set.
start=1; end=1; jobvar=""
if [[ "${1:-}" =~ ^([A-Za-z_]+)=([0-9]+):([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; start=${BASH_REMATCH[2]}; end=${BASH_REMATCH[3]}; shift
fi
[ $# -ge 2 ] || { echo "usage: ${0##*/} [options] [JOB=A:B] LOGFILE COMMAND..." >&2; exit 1; }
log=$1; shift
cmd="$*"
