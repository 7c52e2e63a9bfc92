#!/usr/bin/env bash
# EmoDB under hard recording conditions (local/data.sh: `sertk data harden` of EmoDB); the same
# 10-fold leave-one-speaker-out folds as egs/emodb (one valid speaker per fold) and its system.
#   EMODB=/path/to/emodb    a local copy of the corpus (otherwise it is downloaded)
#   WHISPER=/path/or/name   the Whisper encoder (default: openai/whisper-base from the hub; ser.sh reads it)
#   HARDEN_SEED=0           the random draw of gains and files
set -euo pipefail
./ser.sh --corpus_vars "EMODB HARDEN_SEED" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
