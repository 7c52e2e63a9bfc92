#!/usr/bin/env bash
# BAUM-1 (Turkish): BAUM-1a acted + BAUM-1s spontaneous clips, the six basic emotions, with
# utt2style (acted/spontaneous) for the expression-aware multi-task ECAPA-TDNN.
# Protocol: speakers dealt into 10 gender-balanced groups; fold i tests group i and validates on
# group i+1 (80:10:10 by speaker); the paper's 5 folds are folds 1-5 (drop --folds: all 10).
#   BAUM1=/path/to/BAUM-1        the corpus (see local/data.sh)
# Default: 40 MFCCs (20 ms Hamming, 10 ms hop) + ECAPA-TDNN with the expression task; w/o MTL:
#   ./run.sh --train_config conf/train_ecapa_nomtl.yaml
# wav2vec2-large-960h features instead of MFCCs:
#   ./run.sh --extract_config conf/extract_wav2vec2_large_960h.yaml
set -euo pipefail
./ser.sh --corpus_vars "BAUM1 EMOTIONS" --fold_mode speaker --num_folds 10 --folds "1 2 3 4 5" \
  --extract_config conf/extract_mfcc40_20ms.yaml \
  --train_config conf/train_ecapa_mtl.yaml "$@"
