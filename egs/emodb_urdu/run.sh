#!/usr/bin/env bash
# Acted + spontaneous: EmoDB (German, acted, 10 speakers) and URDU (Urdu, spontaneous, 29
# speaker ids) on their four shared emotions, with utt2style for the expression-aware ECAPA-TDNN
# (conf/train_ecapa_mtl.yaml vs conf/train_ecapa_nomtl.yaml). Speaker-disjoint folds over both
# corpora. Style is confounded with language, corpus and channel here (README.md).
#   EMODB=/path/to/emodb   URDU=/path/to/urdu   (each as its own recipe takes it)
#   WHISPER=/path/or/name  the Whisper encoder (default: openai/whisper-base from the hub)
# The default system, as in every recipe: Whisper-base features + the default head.
set -euo pipefail
./ser.sh --corpus_vars "EMODB URDU" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
