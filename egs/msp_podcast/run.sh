#!/usr/bin/env bash
# MSP-Podcast: the predefined Train / Development / Test1 split (one "fold").
#   MSP_PODCAST=/path/to/MSP-Podcast   (required; licensed, not downloaded)
#   WHISPER=/path/or/name              the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Default system: the hierarchical conformer (hier_dc); all 5 variants:
#   utils/run_hier_variants.sh ...     (after stages 1-3)
set -euo pipefail
./ser.sh --corpus_vars "MSP_PODCAST MSP_OTHER" --fold_mode predefined --split_file data/all/utt2split \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_conformer_hier.yaml "$@"
