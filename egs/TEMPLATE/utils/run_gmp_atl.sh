#!/usr/bin/env bash
# GMP-ATL (Pan et al.) on a recipe's folds, after its stages 1-2 (data, folds):
#   1 stage A   emotion + gender fine-tuning of HuBERT + Bi-LSTM        exp/<tag>/fold*/A
#   2 stage B   k-means pseudo-labels of the stage-A encoder's frames,  exp/<tag>/fold*/units
#               fitted on the fold's train split only (valid labelled with it; test never seen)
#   3 stage C   masked multi-scale pseudo-label retraining              exp/<tag>/fold*/C
#   4 stage D   AM-softmax emotion fine-tuning from the stage-C encoder  exp/<tag>/fold*/D
#   5 infer stage D on each test split, score, aggregate                exp/<tag>/RESULTS.md
#   utils/run_gmp_atl.sh [--stage N] [--folds "1 2"] [--ngpu 1] [--train_args "model_conf.speech_encoder.name_or_path=/dir"]
# Ablations reuse earlier stages of another tag (--a_from: where stage A lives, --c_from: where
# stages B-C live; both default to --tag):
#   --tag gmp_nogmp --a_from gmp_atl --no_gmp true --stage 4      D from the stage-A encoder
#   --tag gmp_ce --a_from gmp_atl --c_from gmp_atl --stage 4 --d_args model_conf.head=ce
#   --tag gmp_layer-1 --a_from gmp_atl --layer -1 --stage 2       another clustered layer
# Finished work is skipped; an interrupted training resumes.
set -euo pipefail
stage=1
stop_stage=5
folds=""
tag=gmp_atl
a_from=""
c_from=""
train_args=""        # overrides for every stage's training (the encoder path, batch size, ...)
d_args=""            # overrides for stage D only
layer=-3
clusters=64,512,4096
no_gmp=false
ngpu=0               # 0: CPU; 1: GPU for training, the stage-B encoder pass and inference
conf_a=conf/train_gmp_atl_a.yaml
conf_c=conf/train_gmp_atl_c.yaml
conf_d=conf/train_gmp_atl_d.yaml
datadir=data
expdir=exp
. ./path.sh
. utils/parse_options.sh
. utils/find_conf.sh  # conf/X.yaml the recipe lacks: TEMPLATE/conf/X.yaml
conf_a=$(find_conf "${conf_a}"); conf_c=$(find_conf "${conf_c}"); conf_d=$(find_conf "${conf_d}")
log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}) $*"; }
[ -f ${datadir}/folds/num_folds ] || { echo "$0: no ${datadir}/folds: run ./run.sh --stop_stage 2 first" >&2; exit 1; }
[ -n "${folds}" ] || folds=$(seq 1 "$(cat ${datadir}/folds/num_folds)" | xargs)
exp=${expdir}/${tag}
exp_a=${expdir}/${a_from:-${tag}}; exp_c=${expdir}/${c_from:-${tag}}
cluster_list="[${clusters}]"

trained() { [ -f "$1/train.done" ]; }
for f in ${folds}; do
  fd=${datadir}/folds/fold${f}; ed=${exp}/fold${f}; ea=${exp_a}/fold${f}; ec=${exp_c}/fold${f}
  split=(--train-dir ${fd}/train --valid-dir ${fd}/valid)
  if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ] && ! trained ${ea}/A; then
    log "fold${f} stage A -> ${ea}/A"
    sertk train --config ${conf_a} --ngpu ${ngpu} "${split[@]}" --exp-dir ${ea}/A ${train_args}
  fi
  if ! ${no_gmp}; then
    if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
      log "fold${f} stage B: layer ${layer}, clusters ${clusters} -> ${ec}/units"
      sertk units --model ${ea}/A/best.pt --ngpu ${ngpu} --fit ${fd}/train --out ${ec}/units --layer ${layer} \
        --clusters ${clusters} ${fd}/valid
    fi
    if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ] && ! trained ${ec}/C; then
      log "fold${f} stage C -> ${ec}/C"
      sertk train --config ${conf_c} --ngpu ${ngpu} "${split[@]}" --exp-dir ${ec}/C ${train_args} \
        units_dir=${ec}/units "model_conf.cluster_sizes=${cluster_list}" "init_param=[${ea}/A/best.pt:speech.]"
    fi
  fi
  src=${ec}/C; ${no_gmp} && src=${ea}/A
  if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ] && ! trained ${ed}/D; then
    log "fold${f} stage D (encoder from ${src}) -> ${ed}/D"
    sertk train --config ${conf_d} --ngpu ${ngpu} "${split[@]}" --exp-dir ${ed}/D ${train_args} ${d_args} \
      "init_param=[${src}/best.pt:speech.]"
  fi
done

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "infer, score and aggregate -> ${exp}/RESULTS.md"
  score_dirs=()
  for f in ${folds}; do
    fd=${datadir}/folds/fold${f}; dec=${exp}/fold${f}/D/decode_test
    [ -f ${dec}/predictions.json ] || sertk infer --model ${exp}/fold${f}/D/best.pt --ngpu ${ngpu} --out ${dec} ${fd}/test
    sertk score --ref ${fd}/test/utt2emo --hyp ${dec}/utt2emo_hyp --emotions ${datadir}/emotions.txt \
      --out ${exp}/fold${f}/score_test >/dev/null
    score_dirs+=(${exp}/fold${f}/score_test)
  done
  sertk aggregate --out ${exp}/RESULTS.md --title "${tag}" --config "${conf_a} ${conf_c} ${conf_d}" \
    --command "$0 --tag ${tag} --a_from ${exp_a##*/} --c_from ${exp_c##*/} --layer ${layer} --clusters ${clusters} --no_gmp ${no_gmp} --d_args '${d_args}'" \
    "${score_dirs[@]}"
fi
