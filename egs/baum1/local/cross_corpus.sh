#!/usr/bin/env bash
# Cross-dataset settings of the expression-aware ECAPA paper (Kumawat, Routray): IEMOCAP acted
# (scripted) + BAUM-1s spontaneous, and the reverse, IEMOCAP spontaneous (improvised) + BAUM-1a
# acted, on the emotions both have (ang, hap, sad; IEMOCAP's hap includes exc). The expression
# head learns acted vs spontaneous; RESULTS.md reports its accuracy next to emotion WA/UA.
# Each setting is a data dir of its own, run through the shared recipe (speaker-disjoint folds).
#   local/cross_corpus.sh --iemocap_data ../iemocap/data/all [--setting iemocap_acted+baum1s]
#       [--extract_config ...] [--train_config conf/train_ecapa_nomtl.yaml] [--stage N] [--nj N]
# Needs data/all of this recipe (./run.sh --stop_stage 1) and IEMOCAP's (its ./run.sh --stop_stage 1).
set -euo pipefail
. ./path.sh
iemocap_data=""
setting=both          # iemocap_acted+baum1s | iemocap_spont+baum1a | both
emotions=ang,hap,sad
num_folds=5
extract_config=conf/extract_mfcc40_20ms.yaml
train_config=conf/train_ecapa_mtl.yaml
stage=1
stop_stage=7
nj=2
. utils/parse_options.sh
. utils/find_conf.sh  # conf/X.yaml the recipe lacks: TEMPLATE/conf/X.yaml
extract_config=$(find_conf "${extract_config}"); train_config=$(find_conf "${train_config}")
[ -f "${iemocap_data}/utt2style" ] || { echo "$0: --iemocap_data must be IEMOCAP's prepared data/all (with utt2style)" >&2; exit 1; }
[ -f data/all/utt2style ] || { echo "$0: run ./run.sh --stop_stage 1 first (BAUM-1 data/all)" >&2; exit 1; }
settings=${setting}; [ "${setting}" = both ] && settings="iemocap_acted+baum1s iemocap_spont+baum1a"

for s in ${settings}; do
  case ${s} in
    iemocap_acted+baum1s) i_style=acted; b_style=spontaneous ;;
    iemocap_spont+baum1a) i_style=spontaneous; b_style=acted ;;
    *) echo "$0: unknown setting ${s}" >&2; exit 1 ;;
  esac
  d=data_cross_${s}
  if [ ! -f ${d}/all/.validated ]; then
    sertk data subset ${iemocap_data} ${d}/parts/iemocap --where utt2style=${i_style} --emotions ${emotions}
    sertk data subset data/all ${d}/parts/baum1 --where utt2style=${b_style} --emotions ${emotions}
    sertk data combine ${d}/all ${d}/parts/iemocap ${d}/parts/baum1
    cp ${d}/all/emotions.txt ${d}/emotions.txt
    sertk data validate --no-audio ${d}/all
    touch ${d}/all/.validated
  fi
  ./ser.sh --datadir ${d} --dumpdir dump_cross_${s} --expdir exp_cross_${s} \
    --fold_mode speaker --num_folds ${num_folds} --stage ${stage} --stop_stage ${stop_stage} --nj ${nj} \
    --extract_config ${extract_config} --train_config ${train_config}
done
