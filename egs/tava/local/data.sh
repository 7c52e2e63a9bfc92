#!/usr/bin/env bash
# Stage 1 for TAVA: write <datadir>/all (default data/all) and <datadir>/emotions.txt.
# TAVA=/path/to/tava (the release: audio/recordings/, annotations/SummaryData.csv).
# TAVA_LABELS=affect16 (default, the 16 affect words) or quadrant4 (V/A quadrants).
set -euo pipefail
. ./path.sh
datadir=${1:-data}
corpus=${TAVA:-}
[ -n "${corpus}" ] || { echo "set TAVA=/path/to/tava (the corpus is not downloaded by this recipe)" >&2; exit 1; }
python local/prepare_tava.py "${corpus}" "${datadir}/all" --labels conf/labels_${TAVA_LABELS:-affect16}.yaml
