#!/usr/bin/env bash
# URDU: spontaneous Urdu talk-show speech, 4 classes (anger happiness neutral sadness), 29
# speaker ids in the file names. Speakers and classes are confounded (most speakers show one
# emotion), so folds are speaker-disjoint (10 folds, valid = the next fold's speakers), a
# fold's test split lacks classes, and RESULTS are read pooled over all folds.
#   URDU=/path/to/urdu        the corpus (the dir holding Angry/ Happy/ Neutral/ Sad/)
#   WHISPER=/path/or/name     the Whisper encoder (default: openai/whisper-base from the hub; ser.sh reads it)
# Options of the shared script: ./run.sh --help
set -euo pipefail
./ser.sh --corpus_vars "URDU" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
