#!/usr/bin/env bash
# Stage 1 for URDU: write <datadir>/all (default data/all) from a local copy of the corpus.
# URDU=/path/to/urdu is the directory holding Angry/ Happy/ Neutral/ Sad/. The corpus is
# distributed by its authors on request (research use only), so there is no download step.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
corpus=${URDU:-}
[ -n "${corpus}" ] || { echo "set URDU=/path/to/urdu (the dir holding Angry/ Happy/ Neutral/ Sad/)" >&2; exit 1; }
python local/prepare_urdu.py "${corpus}" "${datadir}/all" --emotions conf/emotions.yaml
