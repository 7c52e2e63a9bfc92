#!/usr/bin/env bash
# Stage 1 for CREMA-D: CREMA_D=/path (the repository root: AudioWAV/, VideoDemographics.csv) or
# the corpus is cloned from GitHub (CheyneyComputerScience/CREMA-D; the audio is in Git LFS,
# so git-lfs must be installed; ~600 MB of audio) into downloads/.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
corpus=${CREMA_D:-}
if [ -z "${corpus}" ]; then
  corpus=downloads/CREMA-D
  if [ ! -f "${corpus}/.complete" ]; then
    git lfs version >/dev/null 2>&1 || { echo "CREMA-D's audio is in Git LFS: install git-lfs or set CREMA_D=/path" >&2; exit 1; }
    rm -rf "${corpus}"; mkdir -p downloads
    git clone --depth 1 https://github.com/CheyneyComputerScience/CREMA-D.git "${corpus}"
    (cd "${corpus}" && git lfs pull --include "AudioWAV/*")
    touch "${corpus}/.complete"
  fi
fi
python local/prepare_crema_d.py "${corpus}" "${datadir}/all"
