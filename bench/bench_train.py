#!/usr/bin/env python3
"""Training throughput on cached features: utterances per second over a few epochs.

  tools/venv/bin/python bench/bench_train.py --config egs/emodb/conf/train_baseline.yaml \
      --train-dir egs/emodb/data/folds/fold1/train --valid-dir egs/emodb/data/folds/fold1/valid \
      --feat-dir egs/emodb/dump/whisper_base [--epochs 5] [--subnormals both]

--subnormals both trains twice, keeping subnormal floats (SERTK_SUBNORMALS=keep) and then
flushing them (sertk's default), and reports the speed-up. Several feature dirs (a model
reading several streams) are given comma-separated, as to `sertk train`.
"""
import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

from sertk.data.datadir import DataDir
from sertk.train.config import load_config
from sertk.train.trainer import train


def epoch_seconds(conf, a, subnormals: str) -> dict:
    os.environ["SERTK_SUBNORMALS"] = subnormals  # read by train() as it starts
    with tempfile.TemporaryDirectory() as exp:
        train(conf, a.train_dir, a.valid_dir, a.feat_dir, exp)
        hist = json.loads((Path(exp) / "history.json").read_text())
    n = len(DataDir(a.train_dir).utts)
    secs = [h["seconds"] for h in hist[1:]]  # epoch 1 pays for warm-up
    return {"train_utts": n, "epochs_timed": len(secs), "seconds_per_epoch": round(sum(secs) / len(secs), 2),
            "train_utt_per_s_incl_valid": round(n / (sum(secs) / len(secs)), 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ("config", "train-dir", "valid-dir", "feat-dir"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--set", nargs="*", default=[], help="config overrides, key=value")
    ap.add_argument("--subnormals", choices=["flush", "keep", "both"], default="flush")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    logging.disable(logging.INFO)
    conf = load_config(a.config, [*a.set, f"max_epochs={a.epochs}", f"patience={a.epochs + 1}", "refit=false"])
    if a.subnormals == "both":
        keep, flush = epoch_seconds(conf, a, "keep"), epoch_seconds(conf, a, "flush")
        res = {"config": a.config, "overrides": a.set, "subnormals_kept": keep, "subnormals_flushed": flush,
               "speedup": round(keep["seconds_per_epoch"] / flush["seconds_per_epoch"], 2)}
    else:
        res = {"config": a.config, "overrides": a.set, **epoch_seconds(conf, a, a.subnormals)}
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
