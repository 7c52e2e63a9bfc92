#!/usr/bin/env bash
# GPU machine, call 1 (carry .gpu_lease/s1 and egs/emodb/data): the packages its image lacks
# into /tmp/site, `sertk` and `python` on PATH (/tmp/bin), EmoDB's wav files at the path the
# recipe's wav.scp names (decoded from the carried FLAC: the same samples).
set -euo pipefail
t0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu_lease/s1/whl/*.whl
mkdir -p /tmp/bin
# wrappers, not links: a link to the image's venv python starts without the venv's packages
printf '#!/bin/sh\nexec python3 "$@"\n' > /tmp/bin/python
printf '#!/bin/sh\nexec python3 -c "import sys; from sertk.cli import main; sys.argv[0] = \\"sertk\\"; sys.exit(main())" "$@"\n' > /tmp/bin/sertk
chmod +x /tmp/bin/python /tmp/bin/sertk
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/bin:$PATH
wav=$(cat .gpu_lease/s1/path)/wav
mkdir -p "${wav}"
python3 - .gpu_lease/s1/flac "${wav}" <<'PY'
import glob, os, sys
import soundfile as sf
fs = sorted(glob.glob(sys.argv[1] + "/*.flac"))
for f in fs:
    d, sr = sf.read(f, dtype="int16")
    sf.write(os.path.join(sys.argv[2], os.path.basename(f)[:-5] + ".wav"), d, sr, subtype="PCM_16")
print(len(fs), "wav files in", sys.argv[2])
PY
python -c "import yaml, torch, transformers, sertk.cli, espnet2.asr.ctc, kaldiio, soundfile
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__)"
sertk --help >/dev/null
echo "stage 1 ok in $(( $(date +%s) - t0 )) s"
