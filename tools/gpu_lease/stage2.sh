#!/usr/bin/env bash
# GPU machine, call 2 (carry .gpu_lease/s2): all-MiniLM-L6-v2 at the path the dev machine's
# records name, its float16-carried tensors back to float32.
set -euo pipefail
m=$(cat .gpu_lease/s2/path)
mkdir -p "${m}" && cp -r .gpu_lease/s2/minilm/. "${m}/" && rm "${m}/model.fp16.safetensors"
PYTHONPATH=/tmp/site python3 - .gpu_lease/s2/minilm/model.fp16.safetensors "${m}/model.safetensors" <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
save_file({k: (v.float() if v.dtype == torch.float16 else v) for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})
print(len(sd), "tensors ->", sys.argv[2])
PY
echo "stage 2 ok"
