#!/usr/bin/env bash
# IEMOCAP: 5 sessions x 2 speakers -> leave-one-session-out (5 folds); valid = 2 speakers of
# the training sessions, held out from training (never the test session).
#   IEMOCAP=/path/to/IEMOCAP_full_release   (required; licensed, not downloaded)
#   IEMOCAP_LABELS=4class|5class            IEMOCAP_OTHER=drop|keep    (see local/data.sh)
#   WHISPER=/path/or/name                   the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Default system: the hierarchical conformer (hier_cd); all 5 variants:
#   utils/run_hier_variants.sh [--stage 4] ...   (after stages 1-3)
set -euo pipefail
./ser.sh --corpus_vars "IEMOCAP IEMOCAP_LABELS IEMOCAP_OTHER" --fold_mode session --n_valid_spk 2 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_conformer_hier.yaml "$@"
