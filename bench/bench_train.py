#!/usr/bin/env python3
"""Training throughput on cached features: utterances per second over a few epochs.

  tools/venv/bin/python bench/bench_train.py --config egs/emodb/conf/train_baseline.yaml \
      --train-dir egs/emodb/data/folds/fold1/train --valid-dir egs/emodb/data/folds/fold1/valid \
      --feat-dir egs/emodb/dump/whisper_base [--epochs 5]
"""
import argparse
import json
import logging
import tempfile
from pathlib import Path

from sertk.train.config import load_config
from sertk.train.trainer import train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ("config", "train-dir", "valid-dir", "feat-dir"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    logging.disable(logging.INFO)
    conf = load_config(a.config, [f"max_epochs={a.epochs}", f"patience={a.epochs + 1}", "refit=false"])
    with tempfile.TemporaryDirectory() as exp:
        train(conf, a.train_dir, a.valid_dir, a.feat_dir, exp)
        hist = json.loads((Path(exp) / "history.json").read_text())
    from sertk.data.datadir import DataDir
    n = len(DataDir(a.train_dir).utts)
    secs = [h["seconds"] for h in hist[1:]]  # epoch 1 pays for warm-up
    res = {"train_utts": n, "epochs_timed": len(secs), "seconds_per_epoch": round(sum(secs) / len(secs), 2),
           "train_utt_per_s_incl_valid": round(n / (sum(secs) / len(secs)), 1)}
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
