# Sourced by run.pl, slurm.pl and queue.pl after their own options: parses the optional
# `JOB=A:B` range and the log file, leaving jobvar, start, end, log and cmd set.
start=1; end=1; jobvar=""
if [[ "${1:-}" =~ ^([A-Za-z_]+)=([0-9]+):([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; start=${BASH_REMATCH[2]}; end=${BASH_REMATCH[3]}; shift
fi
[ $# -ge 2 ] || { echo "usage: ${0##*/} [options] [JOB=A:B] LOGFILE COMMAND..." >&2; exit 1; }
log=$1; shift
# As Kaldi's run.pl: an argument without whitespace is taken as is (so `|` or `>` given as their
# own arguments stay shell operators); one with whitespace is quoted, in double quotes unless it
# holds one (then single quotes), so `bash -c 'echo task JOB'` stays one argument.
cmd=""
for _a in "$@"; do
  if [[ "${_a}" =~ ^[^[:space:]]+$ ]]; then cmd+="${_a} "
  elif [[ "${_a}" == *\"* ]]; then cmd+="'${_a}' "
  else cmd+="\"${_a}\" "; fi
done
cmd=${cmd% }
