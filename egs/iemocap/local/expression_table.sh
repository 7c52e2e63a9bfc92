#!/usr/bin/env bash
# The preliminary experiment of the expression-aware ECAPA paper (Kumawat, Routray; Table II):
# train on the acted (scripted), spontaneous (improvised) or combined utterances of Sessions 1-4,
# test on Session 5's acted and spontaneous utterances separately. Uses the leave-one-session-out
# fold whose test split is Session 5 (its valid speakers come from Sessions 1-4, filtered to the
# same style as the training data) and the cached features of ./run.sh stage 3:
#   ./run.sh --stop_stage 3 --extract_config conf/extract_mfcc40_20ms.yaml
#   local/expression_table.sh [--extract_config ...] [--train_config conf/train_ecapa_nomtl.yaml]
# Writes ${expdir}/expression_<train>_<feat>/RESULTS.md; finished trainings are skipped on rerun.
set -euo pipefail
. ./path.sh
extract_config=conf/extract_mfcc40_20ms.yaml
train_config=conf/train_ecapa_nomtl.yaml
train_args=""
fold=5
datadir=data
dumpdir=dump
expdir=exp
. utils/parse_options.sh
. utils/find_conf.sh  # conf/X.yaml the recipe lacks: TEMPLATE/conf/X.yaml
extract_config=$(find_conf "${extract_config}"); train_config=$(find_conf "${train_config}")

feat_tag=$(basename "${extract_config}" .yaml); feat_tag=${feat_tag#extract_}
feat=${dumpdir}/${feat_tag}
[ -f "${feat}/feats.scp" ] || { echo "$0: no ${feat}/feats.scp: run ./run.sh --stop_stage 3 --extract_config ${extract_config}" >&2; exit 1; }
src=${datadir}/folds/fold${fold}
echo "test sessions of fold${fold}: $(cut -d' ' -f2 ${src}/test/utt2session | sort -u | xargs)"
sub=${datadir}/expression_fold${fold}
exp=${expdir}/expression_$(basename "${train_config}" .yaml)_${feat_tag}

for style in acted spontaneous; do
  for split in train valid test; do
    [ -f ${sub}/${style}/${split}/utt2spk ] || sertk data subset ${src}/${split} ${sub}/${style}/${split} --where utt2style=${style}
  done
done
for cond in acted spontaneous combined; do
  data=${sub}/${cond}; [ ${cond} = combined ] && data=${src}
  if [ ! -f ${exp}/${cond}/train.done ]; then
    echo "train on ${cond} utterances -> ${exp}/${cond}"
    sertk train --config ${train_config} --train-dir ${data}/train --valid-dir ${data}/valid \
      --feat-dir ${feat} --exp-dir ${exp}/${cond} ${train_args}
  fi
  dec=${exp}/${cond}/decode_test
  [ -f ${dec}/predictions.json ] || sertk infer --model ${exp}/${cond}/best.pt --feat-dir ${feat} --out ${dec} ${src}/test
  for style in acted spontaneous; do
    sertk score --ref ${sub}/${style}/test/utt2emo --hyp ${dec}/utt2emo_hyp --emotions ${datadir}/emotions.txt \
      --out ${exp}/${cond}/score_${style} >/dev/null
  done
done
python local/expression_table.py ${exp} --command "$0 $*" > ${exp}/RESULTS.md
cat ${exp}/RESULTS.md
