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
  if [ ! -f "${corpus}/.complete" ]; then
    mkdir -p "${corpus}"
    echo "Downloading EmoDB from ${url}"
    if command -v wget >/dev/null; then wget -q -O downloads/emodb.zip "${url}"
    else curl -fsSL -o downloads/emodb.zip "${url}"; fi
    python -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" downloads/emodb.zip "${corpus}"
    touch "${corpus}/.complete"
  fi
fi
[ -d "${corpus}/wav" ] || { echo "EmoDB not found: ${corpus}/wav missing (set EMODB=/path/to/emodb)" >&2; exit 1; }
python local/prepare_emodb.py "${corpus}" "${datadir}/all" --emotions conf/emotions.yaml
