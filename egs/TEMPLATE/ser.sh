#!/usr/bin/env bash
# The shared staged SER recipe. Each egs/<corpus>/run.sh sets corpus defaults and calls this.
# Logic lives in the `sertk` CLI; this script only sequences stages and skips finished work.
set -euo pipefail

log() { echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${0##*/}:${BASH_LINENO[0]}) $*"; }
# A command as RESULTS.md records it: its arguments quoted, less --stage/--stop_stage.
without_stages() {
  local out="" skip=false a
  for a in "$@"; do
    if ${skip}; then skip=false; continue; fi
    case "${a}" in --stage|--stop_stage|--stop-stage) skip=true; continue ;; --stage=*|--stop_stage=*) continue ;; esac
    out+=" $(printf '%q' "${a}")"
  done
  echo "${out}"
}
invocation="$0$(without_stages "$@")"

stage=1              # first stage to run
stop_stage=7         # last stage to run
folds=""             # subset of folds to run, e.g. "1 3" (default: all)
ngpu=0               # 0: CPU; 1: one GPU; >1: DDP per fold
nj=2                 # extraction shards
max_parallel_folds=2 # folds trained at once
fold_mode=speaker    # speaker | session | predefined
num_folds=5
n_valid_spk=2        # session mode
split_file=""        # predefined mode: utt2split
fold_seed=0
extract_config=conf/extract_whisper_base.yaml  # "none": the model reads audio itself (MMER); no stage 3
                     # several configs ("conf/a.yaml conf/b.yaml"): one feature stream each (CAMuLeNet)
extract_args=""      # key=value overrides of the (first) extraction config
train_config=conf/train_pooled_mlp.yaml  # the default head (see docs/training.md)
train_args=""        # key=value overrides, e.g. "optim_conf.lr=1e-4 seed=2"
tag=""               # experiment name (default: train and extract config names [+ train_args])
eval_set=test        # test | valid: fit on each fold's train split only and score its valid
                     # split, to choose settings without test (exp/<tag>_on_valid)
corpus_vars=""       # run.sh: the environment variables naming the corpus (e.g. "EMODB"); stage 1
                     # refuses to reuse data/ prepared from other values; RESULTS record them
pack_fold=""         # fold whose model stage 7 packs (default: first fold run)
skip_audio_check=false
fold_pipeline=false  # true: stages 4-6 fold by fold, RESULTS.md updated as each fold finishes
keep_scores=""       # a dir (e.g. results/scores): each fold's scores kept there as it is scored, and
                     # restored from there by a later run of the same command (sertk/score/kept.py)
datadir=data
dumpdir=dump
expdir=exp

help_message="Usage: $0 [options]
Stages: 1 data prep + validation, 2 folds + leakage check, 3 feature extraction (once),
        4 train per fold, 5 infer per fold, 6 score + aggregate (RESULTS.md), 7 pack.
Options (defaults in brackets):
  --stage N --stop_stage N  stages to run [${stage}..${stop_stage}]
  --folds \"1 3\"             folds to run [all]
  --ngpu N                  GPUs per fold (extraction and inference use the first); >1 trains with DDP [${ngpu}]
  --nj N                    extraction shards [${nj}]
  --fold_mode M             speaker|session|predefined [${fold_mode}]
  --num_folds N             folds in speaker mode [${num_folds}]
  --extract_config F        [${extract_config}]   --extract_args \"k=v ...\"
                            (none: models that read audio themselves, e.g. MMER)
  --train_config F          [${train_config}]     --train_args \"k=v ...\"
                            (a chain config runs several training steps per fold, e.g.
                             conf/train_gmp_atl.yaml; --train_args \"D:k=v A:from=EXP\" then
                             set or reuse one step: sertk/train/chain.py)
  --tag NAME                experiment name [train config + features (+ train_args)]
  --eval_set test|valid     valid: fit on train only, score the valid split (choosing settings) [${eval_set}]
  --fold_pipeline true      stages 4-6 fold by fold (train, infer, score; RESULTS.md re-aggregated as each
                            fold finishes: a run cut off early keeps its finished folds' scores) [${fold_pipeline}]
  --keep_scores DIR         keep each scored fold's metrics and training inputs as DIR/<tag>/foldN.json
                            (small enough to commit); a fold not trained in exp/<tag> but kept there
                            is restored instead of trained (its inputs must match) [none]
Environment: WHISPER=/path/or/name  the Whisper encoder of Whisper extraction configs (a local dir
             or a hub name; default: the config's name_or_path)
"
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected argument(s): $* (see --help)" >&2; exit 1; }

. utils/find_conf.sh  # conf/X.yaml the recipe lacks: TEMPLATE/conf/X.yaml
train_config=$(find_conf "${train_config}")
# one dump dir per extraction config; several are passed on comma-separated (feature streams)
extract_configs=(); [ "${extract_config}" = none ] || for c in ${extract_config}; do extract_configs+=("$(find_conf "${c}")"); done
# WHISPER=... (a local dir or hub name) for Whisper extraction configs; given --extract_args
# that set name_or_path win. Other upstreams ignore it.
if [ -n "${WHISPER:-}" ] && [ ${#extract_configs[@]} -gt 0 ] && \
   grep -q '^upstream: *whisper' "${extract_configs[0]}" && [[ "${extract_args}" != *name_or_path=* ]]; then
  extract_args+=" upstream_conf.name_or_path=${WHISPER}"
fi
feat_tags=(); feat_dirs=(); extract_yamls=()
for c in "${extract_configs[@]}"; do
  t=$(basename "${c}" .yaml); t=${t#extract_}
  feat_tags+=("${t}"); feat_dirs+=("${dumpdir}/${t}"); extract_yamls+=("${dumpdir}/${t}/extract.yaml")
done
feat_tag=$(IFS=+; echo "${feat_tags[*]}")
feat_dir=$(IFS=,; echo "${feat_dirs[*]}")
feat_opt=(--feat-dir "${feat_dir}"); pack_opt=(--extract-config "$(IFS=,; echo "${extract_yamls[*]}")")
if [ ${#extract_configs[@]} -eq 0 ]; then feat_tag=audio; feat_opt=(); pack_opt=(); fi
if [ -z "${tag}" ]; then  # as ESPnet does: other training arguments, another experiment
  tag=$(basename "${train_config}" .yaml)_${feat_tag}
  [ -z "${train_args}" ] || tag+="_$(echo "${train_args}" | sed -e 's/model_conf\.//g' -e 's/[^A-Za-z0-9.+-]\{1,\}/_/g' -e 's/^_//' -e 's/_$//')"
fi
seen_opt=""
case "${eval_set}" in
  test) ;;
  # valid: heads trained in epochs still stop early on it (their valid score is optimistic), so
  # inference and scoring are told that the valid speakers were seen in selection
  valid) tag+=_on_valid; train_args+=" fit_valid=false refit=false"; seen_opt=--allow-seen-speakers ;;
  *) echo "$0: --eval_set ${eval_set}: use test or valid" >&2; exit 1 ;;
esac
exp=${expdir}/${tag}
# The user-level command for RESULTS: the corpus variables, WHISPER and run.sh's own command line
# (ser.sh's when it was called directly), and the git state of this checkout.
user_cmd=""
for v in ${corpus_vars} WHISPER; do [ -z "${!v:-}" ] || user_cmd+="${v}=$(printf '%q' "${!v}") "; done
parent=(); mapfile -d '' parent < /proc/${PPID}/cmdline 2>/dev/null || true
run_cmd=""
for i in "${!parent[@]}"; do  # the parent's arguments after run.sh
  if [[ "${parent[$i]}" == *run.sh ]]; then run_cmd="./run.sh$(without_stages "${parent[@]:$((i + 1))}")"; break; fi
done
user_cmd+="${run_cmd:-${invocation}}"
git_state=$(git -C "${SERTK_ROOT:-.}" describe --always --dirty 2>/dev/null || echo unknown)  # the toolkit checkout (path.sh)
# Per-fold jobs run in the background, at most max_parallel_folds at once; a failed job stops
# the recipe at the next wait (set -e).
pids=()
fold_job() {
  "$@" & pids+=($!)
  if [ ${#pids[@]} -ge ${max_parallel_folds} ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
}
wait_fold_jobs() { for p in "${pids[@]}"; do wait "$p"; done; pids=(); }
threads=$(( $(nproc) / max_parallel_folds )); [ ${threads} -ge 1 ] || threads=1
all_folds() {
  if [ -n "${folds}" ]; then echo "${folds}"; else seq 1 "$(cat ${datadir}/folds/num_folds)" | xargs; fi
}

corpus_inputs=""; for v in ${corpus_vars}; do corpus_inputs+="${v}=${!v:-} "; done
if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
  if [ -f ${datadir}/all/.validated ] && [ ! -f ${datadir}/all/.inputs ]; then
    log "Stage 1: ${datadir}/all was prepared by an older sertk that did not record its inputs; recording '${corpus_inputs}'"
    echo "${corpus_inputs}" > ${datadir}/all/.inputs
  fi
  if [ -f ${datadir}/all/.validated ] && [ "$(cat ${datadir}/all/.inputs)" != "${corpus_inputs}" ]; then
    log "Stage 1: ${datadir}/all was prepared from '$(cat ${datadir}/all/.inputs 2>/dev/null)', not '${corpus_inputs}': remove ${datadir}, ${dumpdir} and ${expdir} (or use --datadir/--dumpdir/--expdir) for another corpus"
    exit 1
  fi
  if [ -f ${datadir}/all/.validated ]; then
    log "Stage 1: ${datadir}/all already prepared and validated"
  else
    log "Stage 1: data preparation (local/data.sh) and validation"
    local/data.sh ${datadir}
    audio_opt=--write-utt2dur; ${skip_audio_check} && audio_opt=--no-audio
    sertk data validate ${audio_opt} ${datadir}/all
    echo "${corpus_inputs}" > ${datadir}/all/.inputs
    touch ${datadir}/all/.validated
  fi
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
  fold_args="--mode ${fold_mode} --num-folds ${num_folds} --n-valid-spk ${n_valid_spk} --seed ${fold_seed}"
  [ -n "${split_file}" ] && fold_args+=" --split-file ${split_file}"
  if [ -f ${datadir}/folds/summary.txt ] && [ "$(cat ${datadir}/folds/args 2>/dev/null)" = "${fold_args}" ]; then
    log "Stage 2: folds exist (${datadir}/folds/summary.txt)"
  else
    [ -d ${datadir}/folds ] && { log "Stage 2: fold options changed: remove ${datadir}/folds first"; exit 1; }
    log "Stage 2: speaker-disjoint folds: ${fold_args}"
    sertk data folds ${fold_args} ${datadir}/all ${datadir}/folds
    echo "${fold_args}" > ${datadir}/folds/args
  fi
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
  [ ${#extract_configs[@]} -gt 0 ] || log "Stage 3: nothing to extract (the model reads audio)"
  for i in "${!extract_configs[@]}"; do
    c=${extract_configs[$i]}; d=${feat_dirs[$i]}
    args=""; [ $i -eq 0 ] && args=${extract_args}
    if [ -f ${d}/feats.scp ]; then  # sertk extract refuses another config than the one stored
      check=$(sertk extract --config ${c} ${datadir}/all ${d} ${args} 2>&1) || { echo "${check}" | tail -n 3 >&2; exit 1; }
      log "Stage 3: features exist (${d}/feats.scp)"; continue
    fi
    log "Stage 3: extract $(basename ${d}) once for all utterances (${nj} shards) -> ${d}"
    threads=$(( $(nproc) / nj )); [ ${threads} -ge 1 ] || threads=1
    ${extract_cmd} --num_threads ${threads} --gpu ${ngpu} JOB=1:${nj} ${d}/log/extract.JOB.log \
      sertk extract --config ${c} --nj ${nj} --job JOB --num-threads ${threads} --ngpu ${ngpu} ${datadir}/all ${d} ${args}
    sertk extract --config ${c} --nj ${nj} --ngpu ${ngpu} ${datadir}/all ${d} ${args}
  done
fi

# Stages 4-6 for one fold, as functions: the stages below run each for all folds (the folds of
# a stage in parallel), or --fold_pipeline true runs train -> infer -> score fold by fold and
# re-aggregates RESULTS.md as each fold finishes, so a run cut off early (a GPU lease) still
# leaves the scores of the folds it finished.
# what decides a fold's model: a finished fold trained from anything else is refused. The
# config's hash is of its parsed content (a comment edit is no change); older sertk hashed the
# raw file, and a fold recorded that way with the file unchanged is taken as the same inputs.
config_hash=$(python -c 'import sys
from sertk.config import content_hash
try:
    print(content_hash(sys.argv[1]))
except ValueError as e:
    sys.exit(str(e))' "${train_config}")
inputs="${config_hash} ${train_args} ${feat_dir}"
raw_inputs="$(sha1sum < ${train_config} | cut -c1-12) ${train_args} ${feat_dir}"
trained() {  # 0: fold $1 finished from these inputs; 1: not trained yet; exits on other inputs
  local f=$1 quiet=${2:-false}
  [ -f ${exp}/fold${f}/train.done ] || return 1
  if [ ! -f ${exp}/fold${f}/train.inputs ]; then  # trained by an older sertk: its stored config
    sertk train --config ${train_config} --ngpu ${ngpu} \
      --train-dir ${datadir}/folds/fold${f}/train --valid-dir ${datadir}/folds/fold${f}/valid \
      "${feat_opt[@]}" --exp-dir ${exp}/fold${f} ${train_args} >/dev/null || exit 1  # refuses another config
    echo "${inputs}" > ${exp}/fold${f}/train.inputs
  elif [ "$(cat ${exp}/fold${f}/train.inputs)" = "${raw_inputs}" ]; then
    echo "${inputs}" > ${exp}/fold${f}/train.inputs  # recorded by an older sertk (raw file hash)
  elif [ "$(cat ${exp}/fold${f}/train.inputs)" != "${inputs}" ]; then
    log "  fold${f}: ${exp} was trained from other inputs (config hash, arguments, features: '$(cat ${exp}/fold${f}/train.inputs)'; now '${inputs}'): choose another --tag, or remove ${exp}"
    exit 1
  fi
  ${quiet} || log "  fold${f}: already trained"
}
train_fold() {
  local f=$1
  mkdir -p ${exp}/fold${f}; echo "${inputs}" > ${exp}/fold${f}/train.inputs
  # log/train.log: the job's whole output; fold*/train.log: the trainer's own log
  env OMP_NUM_THREADS=${threads} ${train_cmd} --gpu ${ngpu} --num_threads ${threads} ${exp}/fold${f}/log/train.log \
    sertk train --config ${train_config} --ngpu ${ngpu} \
      --train-dir ${datadir}/folds/fold${f}/train --valid-dir ${datadir}/folds/fold${f}/valid \
      "${feat_opt[@]}" --exp-dir ${exp}/fold${f} ${train_args}
}
kept() {  # 0: fold $1 is not trained here and its scores were restored from ${keep_scores}
  local f=$1
  [ -n "${keep_scores}" ] && [ ! -f ${exp}/fold${f}/train.done ] || return 1
  local r; r=$(sertk keep-scores restore --exp-dir ${exp} --from ${keep_scores} --fold ${f} \
    --eval-set ${eval_set} --inputs "${inputs}") || exit 1  # kept from other inputs: refused
  [ "${r}" = restored ] || return 1
  echo "${inputs}" > ${exp}/fold${f}/train.inputs  # what its scores came from (aggregate reads it)
  log "  fold${f}: scores restored from ${keep_scores}/${tag} (remove that record to train the fold again)"
}
infer_fold() {
  local f=$1 out=${exp}/fold$1/decode_${eval_set}
  [ -f ${out}/predictions.json ] && return 0
  env OMP_NUM_THREADS=${threads} \
    sertk infer --model ${exp}/fold${f}/best.pt --ngpu ${ngpu} "${feat_opt[@]}" ${seen_opt} --out ${out} ${datadir}/folds/fold${f}/${eval_set}
}
score_fold() {
  local f=$1
  rm -f ${exp}/fold${f}/score_${eval_set}/kept.json  # scored here now, not restored
  sertk score --ref-dir ${datadir}/folds/fold${f}/${eval_set} --hyp-dir ${exp}/fold${f}/decode_${eval_set} \
    --emotions ${datadir}/emotions.txt ${seen_opt} --out ${exp}/fold${f}/score_${eval_set}
  [ -z "${keep_scores}" ] || sertk keep-scores save --exp-dir ${exp} --to ${keep_scores} --folds ${f} \
    --eval-set ${eval_set} --git "${git_state}" --command "${user_cmd}" --num-folds "$(cat ${datadir}/folds/num_folds)" >/dev/null
}
aggregate() {  # RESULTS.md over every fold scored so far: this run's folds (--folds), and the
  # recipe's other folds scored from the same inputs (a `--folds 2` restart keeps the whole run's
  # RESULTS; a fold trained from anything else under this tag is left out, never mixed in)
  local f score_dirs=() done_folds=() n run_folds; n=$(cat ${datadir}/folds/num_folds)
  run_folds=" $(all_folds) "
  for f in $(seq 1 ${n}); do
    [ -f ${exp}/fold${f}/score_${eval_set}/metrics.json ] || continue
    [[ "${run_folds}" = *" ${f} "* ]] || [ "$(cat ${exp}/fold${f}/train.inputs 2>/dev/null)" = "${inputs}" ] || continue
    score_dirs+=(${exp}/fold${f}/score_${eval_set}); done_folds+=(${f})
  done
  [ ${#score_dirs[@]} -gt 0 ] || return 0
  local title=${tag}; [ ${eval_set} = test ] || title+=" (scored on the valid split)"
  [ ${#done_folds[@]} -eq ${n} ] || title+=" (folds ${done_folds[*]} of ${n} so far)"
  local resolved=("${exp}/fold${done_folds[0]}/config.yaml") d
  [ -f ${resolved[0]} ] || resolved=("${exp}/fold${done_folds[0]}/score_${eval_set}/config.yaml")  # restored
  for d in "${feat_dirs[@]}"; do [ ! -f ${d}/extract.yaml ] || resolved+=("${d}/extract.yaml"); done
  sertk aggregate --out ${exp}/RESULTS.md --title "${title}" --command "${user_cmd}" \
    --inner-command "${invocation}" --git "${git_state}" \
    $(printf -- '--resolved-config %s ' "${resolved[@]}") "${score_dirs[@]}"
}
restored() {  # fold $1's scores came from ${keep_scores}: nothing to infer or score here
  [ ! -f ${exp}/fold$1/train.done ] && [ -f ${exp}/fold$1/score_${eval_set}/kept.json ]
}
pipeline_fold() {  # one fold's stages 4-6, then RESULTS.md over every fold scored so far
  local f=$1
  if ! kept ${f}; then
    trained ${f} || train_fold ${f}
    infer_fold ${f}
    score_fold ${f}
    log "  fold${f}: trained, inferred and scored"
  fi
  if command -v flock >/dev/null; then  # one aggregation at a time; each sees every fold done so far
    ( flock 9; aggregate >/dev/null ) 9>${exp}/.aggregate.lock
  else aggregate >/dev/null; fi
}

pipelined=false
if ${fold_pipeline} && [ ${stage} -le 4 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stages 4-6 fold by fold (--fold_pipeline): folds $(all_folds) -> ${exp}"
  mkdir -p ${exp}
  for f in $(all_folds); do trained ${f} true || true; done  # other inputs: refused before anything starts
  for f in $(all_folds); do fold_job pipeline_fold ${f}; done
  wait_fold_jobs
  aggregate
  pipelined=true
fi

if ! ${pipelined} && [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
  log "Stage 4: train folds $(all_folds) -> ${exp}"
  for f in $(all_folds); do
    trained ${f} && continue
    kept ${f} && continue
    fold_job train_fold ${f}
  done
  wait_fold_jobs
fi

if ! ${pipelined} && [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
  log "Stage 5: infer on each fold's ${eval_set} split"
  for f in $(all_folds); do restored ${f} || fold_job infer_fold ${f}; done
  wait_fold_jobs
fi

if ! ${pipelined} && [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
  log "Stage 6: score each fold and aggregate -> ${exp}/RESULTS.md"
  for f in $(all_folds); do restored ${f} || fold_job score_fold ${f}; done
  wait_fold_jobs
  aggregate
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
  [ -n "${pack_fold}" ] || pack_fold=$(all_folds | awk '{print $1}')
  out=${exp}/packed/${tag}_fold${pack_fold}.tar.gz
  if restored ${pack_fold}; then
    log "Stage 7: fold${pack_fold}'s scores were restored from ${keep_scores}: no model to pack (--pack_fold N: a fold trained here)"; exit 1
  fi
  log "Stage 7: pack fold${pack_fold} -> ${out}"
  sertk pack --exp-dir ${exp}/fold${pack_fold} "${pack_opt[@]}" \
    --results ${exp}/RESULTS.md --out ${out}
fi
log "Done (stages ${stage}-${stop_stage})"
