#!/usr/bin/env python3
"""Linear probes of a trained CAMuLeNet fold: which part of its final embedding carries
speaker-independent emotion and gender information. The embedding is [net(x_w_att); w]: the
attention-weighted Whisper path and the skip-connected attention weights (one per Whisper
frame, max_frames of them); for comparison, the model's Whisper input itself, averaged over
its frames. A standardised logistic regression (C=0.1) is fitted on the fold's train split
and scored on valid and test (never fitted there).

  python local/probe_camulenet.py exp/camulenet_whisper_base/fold1 \
      --feat-dir dump/whisper_base,dump/spectrogram,dump/mfcc40 --fold-dir data/folds/fold1
"""
import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sertk.config import yaml_load
from sertk.data.datadir import DataDir
from sertk.data.dataset import split_feat_dirs
from sertk.data.feature_reader import FeatureReader
from sertk.infer.predict import model_embeddings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exp_dir", help="a trained fold: best.pt + config.yaml")
    ap.add_argument("--feat-dir", required=True)
    ap.add_argument("--fold-dir", required=True, help="with train/ valid/ test/ data dirs")
    a = ap.parse_args()
    conf = yaml_load(open(f"{a.exp_dir}/config.yaml").read())["model_conf"]
    if conf.get("fusion", "coattention") != "coattention":
        raise SystemExit(f"{a.exp_dir}: fusion {conf['fusion']}: no attention weights in the embedding to probe")
    n_w = conf.get("max_frames", 1500)
    whisper = FeatureReader(split_feat_dirs(a.feat_dir)[0])
    splits = {}
    for name in ("train", "valid", "test"):
        d = DataDir(f"{a.fold_dir}/{name}")
        emb, gender = model_embeddings(f"{a.exp_dir}/best.pt", a.feat_dir, d.utts), d.attribute("gender")
        x_w = [whisper[u][conf.get("whisper_layer", -1)].mean(0) for u in d.utts]  # (layers, frames, dim)
        splits[name] = (np.concatenate([np.stack([emb[u] for u in d.utts]), np.stack(x_w)], 1),
                        [d.table("utt2emo")[u] for u in d.utts], [gender[u] for u in d.utts] if gender else None)
    dim = splits["train"][0].shape[1] - whisper.D
    parts = {"Whisper input, mean of x_w": slice(dim, None), "Whisper path net(x_w_att)": slice(0, dim - n_w),
             "attention weights w": slice(dim - n_w, dim), "whole embedding": slice(0, dim)}
    print(f"| embedding part | task | train | valid | test |\n|---|---|---|---|---|")
    for part, cols in parts.items():
        for task, k in (("emotion", 1), ("gender", 2)):
            if splits["train"][k] is None:
                continue
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            probe.fit(splits["train"][0][:, cols], splits["train"][k])
            acc = [100 * probe.score(splits[s][0][:, cols], splits[s][k]) for s in ("train", "valid", "test")]
            print(f"| {part} | {task} | " + " | ".join(f"{x:.1f}" for x in acc) + " |")


if __name__ == "__main__":
    main()
