#!/usr/bin/env bash
# TAVA: 22 speakers (11 f, 11 m), 16 affect words, crowd-rated valence/arousal/dominance.
# Leave-speaker-out: 11 folds of 2 test speakers (gender-balanced), valid = the next fold's
# speakers. The default system is the hierarchical conformer (hier_dc) on Whisper-base.
#   TAVA=/path/to/tava        the corpus (required)
#   WHISPER=/path/or/name     the Whisper encoder (default: openai/whisper-base from the hub; ser.sh reads it)
#   TAVA_LABELS=quadrant4     4 V/A-quadrant classes instead of the 16 affect words
# Options of the shared script: ./run.sh --help ; e.g. another variant:
#   ./run.sh --train_config conf/train_conformer_hier.yaml --train_args "model_conf.variant=mtl" --tag mtl
set -euo pipefail
./ser.sh --corpus_vars "TAVA TAVA_LABELS" --fold_mode speaker --num_folds 11 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_conformer_hier.yaml "$@"
