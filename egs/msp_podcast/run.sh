#!/usr/bin/env bash
# MSP-Podcast: the predefined Train / Development / Test1 split (one "fold").
#   MSP_PODCAST=/path/to/MSP-Podcast   (required; licensed, not downloaded)
#   WHISPER=/path/or/name              the Whisper encoder (default openai/whisper-base)
# Default system: the hierarchical conformer (hier_dc); all 5 variants:
#   utils/run_hier_variants.sh ...     (after stages 1-3)
set -euo pipefail
whisper_args=()
[ -n "${WHISPER:-}" ] && whisper_args=(--extract_args "upstream_conf.name_or_path=${WHISPER}")
./ser.sh --fold_mode predefined --split_file data/all/utt2split \
  --extract_config conf/extract_whisper_base.yaml "${whisper_args[@]}" \
  --train_config conf/train_conformer_hier.yaml "$@"
