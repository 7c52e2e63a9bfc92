#!/usr/bin/env bash
# Stage 1 for RAVDESS speech: RAVDESS=/path (a dir holding Actor_01..Actor_24) or the
# audio-only speech release is downloaded from Zenodo (record 1188976, ~200 MB) into downloads/.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
url="https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1"
corpus=${RAVDESS:-}
if [ -z "${corpus}" ]; then
  corpus=downloads/ravdess
  utils/download_zip.sh "${url}" "${corpus}"
fi
python local/prepare_ravdess.py "${corpus}" "${datadir}/all"
