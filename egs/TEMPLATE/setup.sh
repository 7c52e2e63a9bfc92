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
set -euo pipefail
./ser.sh --fold_mode speaker --num_folds 5 "$@"
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
