#!/usr/bin/env bash
# CaFE (Canadian French): 12 actors (6 f, 6 m), 7 emotions, 6 sentences, 936 files -> 10-fold
# leave-speaker-out (valid = the next fold's actors). Genders: conf/genders.yaml (check it).
#   CAFE=/path/to/CaFE_48k                       a local copy (otherwise downloaded from Zenodo)
#   WHISPER=/path/or/name                        the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Default: Whisper-base features + the frozen-upstream baseline. CAMuLeNet (three streams):
#   ./run.sh --extract_config "conf/extract_whisper_base.yaml conf/extract_spectrogram.yaml conf/extract_mfcc40.yaml" \
#            --train_config conf/train_camulenet.yaml
set -euo pipefail
./ser.sh --corpus_vars "CAFE" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
