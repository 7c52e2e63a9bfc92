#!/usr/bin/env bash
# Any corpus described by one CSV/TSV file (no code to write), e.g. BhavVani or your own data:
#   CORPUS_CSV=/path/corpus.csv ./run.sh
# Columns (header row; .tsv = tab-separated): path, speaker, emotion, gender (m/f/male/female);
# optional: utt, text, language, session. Relative paths are relative to the CSV's directory.
#   EMOTIONS="angry happy neutral sad"   the label set and class order (default: all, sorted);
#                                        rows with another label are dropped (and counted)
#   WHISPER=/path/or/name                the Whisper encoder (default openai/whisper-base; ser.sh reads it)
# Or a directory tree whose paths name speakers and emotions (`sertk data import --help`):
#   CORPUS_DIR=/path/tree PATTERN='{emo}/{spk}_{*}.wav' LABELS=conf/emotions.yaml ./run.sh
#   PATTERN fields: {spk} {emo} [{gender}] [{utt}], {name:N} (N characters), {*}; or 're:<regex>'
#   LABELS   YAML raw label -> canonical label (its order is the class order; default: as found)
#   GENDERS  speaker -> m/f (two columns or YAML); SKIP_UNMATCHED=true leaves other files out
# Default: 10-fold leave-speaker-out (fewer folds with --num_folds), Whisper-base features and
# the frozen-upstream baseline. Options of the shared script: ./run.sh --help
set -euo pipefail
./ser.sh --corpus_vars "CORPUS_CSV EMOTIONS CORPUS_DIR PATTERN LABELS GENDERS SKIP_UNMATCHED" --fold_mode speaker --num_folds 10 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
