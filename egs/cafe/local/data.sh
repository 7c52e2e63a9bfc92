#!/usr/bin/env bash
# Stage 1 for CaFE: CAFE=/path (the dir holding Colère/, Neutre/, ...) or the 48 kHz release is
# downloaded from Zenodo (record 1219621, CaFE_48k.zip) into downloads/.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
url="https://zenodo.org/records/1219621/files/CaFE_48k.zip?download=1"
corpus=${CAFE:-}
if [ -z "${corpus}" ]; then
  corpus=downloads/cafe
  utils/download_zip.sh "${url}" "${corpus}"
fi
python local/prepare_cafe.py "${corpus}" "${datadir}/all" --genders conf/genders.yaml
