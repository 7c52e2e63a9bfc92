#!/usr/bin/env bash
# Stage 1 of the cross-corpus recipe: prepare IEMOCAP (4 classes) and MSP-Podcast with their
# own recipes' scripts, then merge them with the label kinds of CROSS_KINDS.
#   IEMOCAP=/path/to/IEMOCAP_full_release  MSP_PODCAST=/path/to/MSP-Podcast   (both required)
#   CROSS_KINDS=iemocap=d,msp=c (default: IEMOCAP categorical + MSP-Podcast dimensional)
set -euo pipefail
. ./path.sh
datadir=${1:-data}
[ -n "${IEMOCAP:-}" ] || { echo "set IEMOCAP=/path/to/IEMOCAP_full_release" >&2; exit 1; }
[ -n "${MSP_PODCAST:-}" ] || { echo "set MSP_PODCAST=/path/to/MSP-Podcast" >&2; exit 1; }
python ../iemocap/local/prepare_iemocap.py "${IEMOCAP}" "${datadir}/iemocap/all" \
  --labels ../iemocap/conf/labels_4class.yaml --other keep
python ../msp_podcast/local/prepare_msp_podcast.py "${MSP_PODCAST}" "${datadir}/msp/all" \
  --labels ../msp_podcast/conf/labels_5class.yaml --other keep
python local/combine_corpora.py "${datadir}/iemocap/all" "${datadir}/msp/all" "${datadir}/all" \
  --kinds "${CROSS_KINDS:-iemocap=d,msp=c}"
