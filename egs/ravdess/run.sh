#!/usr/bin/env bash
# RAVDESS speech: 24 actors (12 f, 12 m), 8 emotions, 1440 files -> 10-fold leave-speaker-out
# (valid = the next fold's actors).
#   RAVDESS=/path/to/Audio_Speech_Actors_01-24   a local copy (otherwise downloaded from Zenodo)
#   WHISPER=/path/or/name                        the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Default: Whisper-base features + the frozen-upstream baseline. CAMuLeNet (three streams):
#   ./run.sh --extract_config "conf/extract_whisper_base.yaml conf/extract_spectrogram.yaml conf/extract_mfcc40.yaml" \
#            --train_config conf/train_camulenet.yaml
set -euo pipefail
./ser.sh --corpus_vars "RAVDESS" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
