#!/usr/bin/env bash
# Stage 1 for IEMOCAP (licensed: not downloadable): write <datadir>/all and <datadir>/emotions.txt.
#   IEMOCAP=/path/to/IEMOCAP_full_release   the corpus (required)
#   IEMOCAP_LABELS=4class (default) | 5class
#   IEMOCAP_OTHER=drop (default) | keep     utterances outside the label set: keep = V/A/D only
set -euo pipefail
. ./path.sh
datadir=${1:-data}
[ -n "${IEMOCAP:-}" ] || { echo "set IEMOCAP=/path/to/IEMOCAP_full_release (licensed corpus; not downloaded)" >&2; exit 1; }
python local/prepare_iemocap.py "${IEMOCAP}" "${datadir}/all" --labels conf/labels_${IEMOCAP_LABELS:-4class}.yaml \
  --other "${IEMOCAP_OTHER:-drop}"
