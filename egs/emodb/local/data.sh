#!/usr/bin/env bash
# Stage 1 for EmoDB: locate (or download) the corpus and write <datadir>/all (default data/all).
# EMODB=/path/to/emodb uses a local copy (a dir holding wav/); otherwise the corpus is
# downloaded from its official site into downloads/.
set -euo pipefail
. ./path.sh
datadir=${1:-data}

url=http://emodb.bilderbar.info/download/download.zip
corpus=${EMODB:-}
if [ -z "${corpus}" ]; then
  corpus=downloads/emodb
  utils/download_zip.sh "${url}" "${corpus}"
fi
[ -d "${corpus}/wav" ] || { echo "EmoDB not found: ${corpus}/wav missing (set EMODB=/path/to/emodb)" >&2; exit 1; }
python local/prepare_emodb.py "${corpus}" "${datadir}/all" --emotions conf/emotions.yaml
