#!/usr/bin/env bash
# Stage 1: read the corpus description CORPUS_CSV and write <datadir>/all + <datadir>/emotions.txt.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
[ -n "${CORPUS_CSV:-}" ] || { echo "set CORPUS_CSV=/path/corpus.csv (see run.sh for the columns)" >&2; exit 1; }
python local/prepare_csv.py "${CORPUS_CSV}" "${datadir}/all" --emotions "${EMOTIONS:-}" \
  --emotions-file "${datadir}/emotions.txt"
