#!/usr/bin/env bash
# EmoDB: 10 speakers -> 10-fold leave-one-speaker-out (valid = the next fold's speaker).
#   EMODB=/path/to/emodb    a local copy of the corpus (otherwise it is downloaded)
#   WHISPER=/path/or/name   the Whisper encoder (default: openai/whisper-base from the hub; ser.sh reads it)
# Options of the shared script: ./run.sh --help ; e.g. the fbank system:
#   ./run.sh --extract_config conf/extract_fbank.yaml
set -euo pipefail
./ser.sh --corpus_vars "EMODB" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
