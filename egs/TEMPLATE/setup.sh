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
cp "${template}/conf/"*.yaml "${dir}/conf/"
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
# $datadir/emotions.txt (one canonical label per line, in class order).
set -euo pipefail
. ./path.sh
datadir=${1:-data}
echo "local/data.sh: write the data preparation for this corpus" >&2
exit 1
DATA
chmod +x "${dir}/run.sh" "${dir}/local/data.sh"
echo "created ${dir}: now write ${dir}/local/data.sh"
