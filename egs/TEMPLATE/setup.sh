#!/usr/bin/env bash
# Create a new recipe: egs/TEMPLATE/setup.sh egs/<corpus>
# Shared scripts are symlinked (fixes reach every recipe; cmd.sh picks its backend from
# SERTK_CMD_BACKEND); run.sh, conf/ and local/ are yours.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 egs/<new_corpus>" >&2; exit 1; }
dir=$1
template=$(cd "$(dirname "$0")" && pwd)
[ -e "${dir}" ] && { echo "${dir} already exists" >&2; exit 1; }
mkdir -p "${dir}/conf" "${dir}/local"
rel=$(python3 -c "import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))" "${template}" "${dir}")
for f in ser.sh path.sh cmd.sh utils; do ln -s "${rel}/${f}" "${dir}/${f}"; done
# conf/ starts empty: ser.sh takes a config the recipe lacks from TEMPLATE/conf, so fixes and new
# configs there reach this recipe; put a file of the same name here to change it for this corpus.
cat > "${dir}/run.sh" <<'RUN'
#!/usr/bin/env bash
# Corpus defaults, then the shared staged script (../TEMPLATE/ser.sh). Options: ./run.sh --help
# The default system, as in every recipe: Whisper-base features + the default head
# (conf/train_pooled_mlp.yaml); the linear probe to compare with: --train_config conf/train_linear.yaml
#   CORPUS=/path/to/corpus  where local/data.sh finds the corpus (name it in --corpus_vars: stage 1
#                           then refuses data/ prepared from another path, and RESULTS record it)
#   WHISPER=/path/or/name   the Whisper encoder (default: openai/whisper-base from the hub)
set -euo pipefail
./ser.sh --corpus_vars "CORPUS" --fold_mode speaker --num_folds 5 \
  --extract_config conf/extract_whisper_base.yaml \
  --train_config conf/train_pooled_mlp.yaml "$@"
RUN
cat > "${dir}/local/data.sh" <<'DATA'
#!/usr/bin/env bash
# Write $datadir/all (wav.scp utt2spk utt2emo spk2gender [text utt2avd ...], sorted) and
# $datadir/emotions.txt (one canonical label per line, in class order). The usual shape, in
# Python with sertk's helper (fill in how your corpus names speakers, labels and genders):
#
#   python - "${CORPUS}" "${datadir}" <<'PY'
#   import sys
#   from pathlib import Path
#   from sertk.data.datadir import write_datadir
#   corpus, datadir = Path(sys.argv[1]), Path(sys.argv[2])
#   LABELS = {"ang": "anger", "hap": "happiness", "neu": "neutral", "sad": "sadness"}  # raw -> canonical
#   rows, gender = {"wav.scp": [], "utt2spk": [], "utt2emo": []}, {}
#   for wav in sorted(corpus.rglob("*.wav")):
#       spk, raw = wav.stem.split("_")[:2]          # e.g. <speaker>_<label>_<n>.wav
#       utt = f"{spk}_{wav.stem}"                   # utterance ids start with the speaker id
#       rows["wav.scp"].append((utt, str(wav))); rows["utt2spk"].append((utt, spk))
#       rows["utt2emo"].append((utt, LABELS[raw])); gender[spk] = "f"   # from your metadata
#   write_datadir(datadir / "all", rows, gender, sorted(set(LABELS.values())))
#   PY
set -euo pipefail
. ./path.sh
datadir=${1:-data}
echo "local/data.sh: write the data preparation for this corpus (see the comment above)" >&2
exit 1
DATA
chmod +x "${dir}/run.sh" "${dir}/local/data.sh"
echo "created ${dir}: now write ${dir}/local/data.sh"
