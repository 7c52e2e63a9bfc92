#!/usr/bin/env bash
# Stage 1 for BAUM-1: BAUM1=/path/to/BAUM-1 (the dir holding "BAUM1a_MP4 - All", "BAUM1s_MP4 - All"
# and Annotations_BAUM1a/1s.xlsx). BAUM-1 is released by its authors on request (Bahcesehir
# University); it cannot be fetched automatically. EMOTIONS=ang,dis,... overrides the paper's six.
set -euo pipefail
. ./path.sh
datadir=${1:-data}
[ -n "${BAUM1:-}" ] || { echo "$0: set BAUM1=/path/to/BAUM-1 (obtained from its authors)" >&2; exit 1; }
python local/prepare_baum1.py "${BAUM1}" "${datadir}/all" ${EMOTIONS:+--emotions ${EMOTIONS}}
