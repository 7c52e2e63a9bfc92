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
  if [ ! -f "${corpus}/.complete" ]; then
    mkdir -p "${corpus}"
    echo "Downloading CaFE from ${url}"
    if command -v wget >/dev/null; then wget -q -O downloads/cafe.zip "${url}"
    else curl -fsSL -o downloads/cafe.zip "${url}"; fi
    python -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" downloads/cafe.zip "${corpus}"
    touch "${corpus}/.complete"
  fi
fi
python local/prepare_cafe.py "${corpus}" "${datadir}/all" --genders conf/genders.yaml
