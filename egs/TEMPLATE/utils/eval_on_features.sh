#!/usr/bin/env bash
# Score an experiment's fold models on OTHER features of the same utterances: another recording
# condition (a hardened or cropped copy of the corpus, `sertk data harden`, extracted into its
# own dump dir with the same extraction config), without retraining anything. Run in a recipe dir:
#   utils/eval_on_features.sh --feat_dir dump/whisper_base_crop [--eval_set test|valid] exp/<tag>
# Writes exp/<tag>/fold*/{decode,score}_<set>_<dump name> and exp/<tag>/RESULTS_<set>_<dump name>.md.
set -euo pipefail
feat_dir=""
eval_set=test
datadir=data
. ./path.sh
. utils/parse_options.sh
[ $# -eq 1 ] && [ -n "${feat_dir}" ] || { echo "usage: $0 --feat_dir DUMP [--eval_set test|valid] exp/<tag>" >&2; exit 1; }
exp=$1
name=${eval_set}_$(basename "${feat_dir}")
seen_opt=""; [ "${eval_set}" = valid ] && seen_opt=--allow-seen-speakers  # epoch-trained heads stop early on valid
score_dirs=()
for fold_dir in $(ls -d ${exp}/fold* | sort -V); do
  f=${fold_dir##*/fold}
  test_dir=${datadir}/folds/fold${f}/${eval_set}; dec=${fold_dir}/decode_${name}
  [ -f ${dec}/predictions.json ] || sertk infer --model ${fold_dir}/best.pt --feat-dir ${feat_dir} ${seen_opt} --out ${dec} ${test_dir}
  sertk score --ref-dir ${test_dir} --hyp-dir ${dec} --emotions ${datadir}/emotions.txt ${seen_opt} \
    --out ${fold_dir}/score_${name} >/dev/null
  score_dirs+=(${fold_dir}/score_${name})
done
sertk aggregate --out ${exp}/RESULTS_${name}.md --title "$(basename ${exp}) on ${feat_dir} (${eval_set})" \
  --command "utils/eval_on_features.sh --feat_dir ${feat_dir} --eval_set ${eval_set} ${exp}" "${score_dirs[@]}"
