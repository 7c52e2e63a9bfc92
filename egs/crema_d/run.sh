#!/usr/bin/env bash
# CREMA-D: 91 actors (48 m, 43 f), 6 emotions, 12 sentences, 7442 files -> 10-fold
# leave-speaker-out (valid = the next fold's actors).
#   CREMA_D=/path/to/CREMA-D                     a local copy (otherwise cloned from GitHub, Git LFS)
#   WHISPER=/path/or/name                        the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Default: Whisper-base features + the frozen-upstream baseline. CAMuLeNet (three streams):
#   ./run.sh --extract_config "conf/extract_whisper_base.yaml conf/extract_spectrogram.yaml conf/extract_mfcc40.yaml" \
#            --train_config conf/train_camulenet.yaml
set -euo pipefail
./ser.sh --corpus_vars "CREMA_D" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
