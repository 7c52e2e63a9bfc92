#!/usr/bin/env bash
# Stage 1 for EmoDB under hard recording conditions: EmoDB as egs/emodb prepares it
# (data/clean/all), then `sertk data harden` (data/all): one random gain in +-10 dB per speaker,
# stereo files from two microphones, one channel's polarity inverted in 30% of them, 2% mono.
#   EMODB=/path/to/emodb  a local copy (otherwise downloaded, as in egs/emodb)
#   HARDEN_SEED=0         the random draw of gains and files
set -euo pipefail
. ./path.sh
datadir=${1:-data}
corpus=${EMODB:-}
if [ -z "${corpus}" ]; then
  corpus=downloads/emodb
  utils/download_zip.sh http://emodb.bilderbar.info/download/download.zip "${corpus}"
fi
[ -d "${corpus}/wav" ] || { echo "EmoDB not found: ${corpus}/wav missing (set EMODB=/path/to/emodb)" >&2; exit 1; }
rm -rf "${datadir}/clean" "${datadir}/all"   # stage 1 reruns only when unfinished
python ../emodb/local/prepare_emodb.py "${corpus}" "${datadir}/clean/all" --emotions ../emodb/conf/emotions.yaml
sertk data harden --seed "${HARDEN_SEED:-0}" "${datadir}/clean/all" "${datadir}/all"
