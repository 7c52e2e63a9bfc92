#!/usr/bin/env bash
# Stage 1: acted (EmoDB, German) + spontaneous (URDU, Urdu talk shows) speech on the four
# emotions both have (anger, happiness, neutral, sadness), one data dir with utt2style
# (acted | spontaneous) for the expression task. Each corpus is prepared by its own recipe's
# local/data.sh (EMODB: a local copy, or downloaded by egs/emodb; URDU: a local copy).
set -euo pipefail
. ./path.sh
datadir=${1:-data}
parts=${datadir}/parts
rm -rf "${parts}"; mkdir -p "${parts}"
here=$(pwd); out=$(cd "${parts}" && pwd)
(cd ../emodb && local/data.sh "${out}/emodb") && (cd ../urdu && local/data.sh "${out}/urdu")
cd "${here}"
sertk data subset --emotions anger,happiness,neutral,sadness ${parts}/emodb/all ${parts}/emodb4
sertk data combine ${datadir}/all ${parts}/emodb4 ${parts}/urdu/all
cp ${datadir}/all/emotions.txt ${datadir}/emotions.txt
rm -rf "${parts}"
