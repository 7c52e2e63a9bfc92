#!/usr/bin/env bash
# Cross-corpus training with mismatched label kinds (Sharma et al., Table 2): IEMOCAP
# categorical + MSP-Podcast dimensional labels by default (CROSS_KINDS, see local/data.sh),
# one predefined split (IEMOCAP Ses05 test / Ses04 valid; MSP-Podcast Test1 / Development),
# then each corpus scored on its own (exp/<tag>/RESULTS_<corpus>.md).
#   IEMOCAP=/path/to/IEMOCAP_full_release  MSP_PODCAST=/path/to/MSP-Podcast   (both required)
#   WHISPER=/path/or/name   the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# A different label combination needs a fresh data dir: rm -r data; CROSS_KINDS=iemocap=dc,msp=c ./run.sh
set -euo pipefail
./ser.sh --corpus_vars "IEMOCAP MSP_PODCAST CROSS_KINDS" --fold_mode predefined --split_file data/all/utt2split \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_conformer_hier.yaml "$@"
. ./path.sh
if [ -f data/folds/fold1/test/utt2corpus ]; then python local/score_per_corpus.py; fi
