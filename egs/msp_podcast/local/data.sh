#!/usr/bin/env bash
# Stage 1 for MSP-Podcast (licensed: not downloadable): write <datadir>/all, <datadir>/emotions.txt
# and <datadir>/all/utt2split (the predefined Train / Development / Test1 sets).
#   MSP_PODCAST=/path/to/MSP-Podcast   the corpus root (Labels/, Audios/) (required)
#   MSP_OTHER=drop (default) | keep     utterances outside the class set: keep = V/A/D only
set -euo pipefail
. ./path.sh
datadir=${1:-data}
[ -n "${MSP_PODCAST:-}" ] || { echo "set MSP_PODCAST=/path/to/MSP-Podcast (licensed corpus; not downloaded)" >&2; exit 1; }
python local/prepare_msp_podcast.py "${MSP_PODCAST}" "${datadir}/all" --labels conf/labels_5class.yaml \
  --other "${MSP_OTHER:-drop}"
