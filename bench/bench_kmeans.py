#!/usr/bin/env python3
"""GMP-ATL stage B cost: seconds to fit the k-means of each scale on one layer's frames of a
training split, for one or more numbers of k-means++ runs (`sertk units --n-init`).

  tools/venv/bin/python bench/bench_kmeans.py --model exp/gmp_atl/fold1/A/best.pt \
      --data-dir data/folds/fold1/train --clusters 64,512,4096 --n-init 1 [--json out.json]
"""
import argparse
import json
import logging
import time
from pathlib import Path

import torch

from sertk.models.checkpoint import load_model
from sertk.units import encoder_frames, fit_kmeans


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a trained audio model (stage A best.pt)")
    ap.add_argument("--data-dir", required=True, help="the split whose frames are clustered")
    ap.add_argument("--layer", type=int, default=-3)
    ap.add_argument("--clusters", default="64,512,4096")
    ap.add_argument("--n-init", default="1", help="comma-separated run counts to compare")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    logging.disable(logging.INFO)
    model, _ = load_model(a.model)
    t0 = time.time()
    frames = list(encoder_frames(model, a.data_dir, a.layer).values())
    res = {"frames": int(sum(len(f) for f in frames)), "dim": int(frames[0].shape[1]),
           "encode_seconds": round(time.time() - t0, 1), "threads": torch.get_num_threads(), "fits": []}
    for n_init in (int(n) for n in a.n_init.split(",")):
        for k in (int(k) for k in a.clusters.split(",")):
            t0 = time.time()
            km = fit_kmeans(frames, k, n_init=n_init)
            res["fits"].append({"clusters": k, "n_init": n_init, "seconds": round(time.time() - t0, 1),
                                "inertia_per_frame": round(float(km.inertia_) / res["frames"], 3)})
            print(json.dumps(res["fits"][-1]), flush=True)
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
