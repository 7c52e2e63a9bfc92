#!/usr/bin/env bash
# Stage 1: write <datadir>/all + <datadir>/emotions.txt from either
#   CORPUS_CSV   one CSV/TSV describing the corpus (local/prepare_csv.py), or
#   CORPUS_DIR + PATTERN [+ LABELS, GENDERS]   a directory tree whose paths name speakers and
#                emotions (`sertk data import`; see run.sh).
set -euo pipefail
. ./path.sh
datadir=${1:-data}
if [ -n "${CORPUS_CSV:-}" ]; then
  python local/prepare_csv.py "${CORPUS_CSV}" "${datadir}/all" --emotions "${EMOTIONS:-}" \
    --emotions-file "${datadir}/emotions.txt"
elif [ -n "${CORPUS_DIR:-}" ]; then
  [ -n "${PATTERN:-}" ] || { echo "set PATTERN (e.g. '{emo}/{spk}_{*}.wav') with CORPUS_DIR (see run.sh)" >&2; exit 1; }
  opts=()
  [ -n "${LABELS:-}" ] && opts+=(--labels "${LABELS}")
  [ -n "${GENDERS:-}" ] && opts+=(--genders "${GENDERS}")
  ${SKIP_UNMATCHED:-false} && opts+=(--skip-unmatched)
  sertk data import "${CORPUS_DIR}" "${datadir}/all" --pattern "${PATTERN}" "${opts[@]}"
else
  echo "set CORPUS_CSV=/path/corpus.csv, or CORPUS_DIR=/path/tree with PATTERN=... (see run.sh)" >&2; exit 1
fi
