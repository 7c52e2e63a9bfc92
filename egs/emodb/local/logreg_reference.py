#!/usr/bin/env python3
"""Reference heads on cached features, on this recipe's folds: a standardised logistic
regression (C=0.1) on mean+std pooled frames of one layer, as in shared/design's reference
numbers. Trained on the train speakers (8 per fold) or train+valid (9: the reference setup,
no early stopping needed); scored on each fold's test speaker. Test is never used to fit.

  python local/logreg_reference.py dump/whisper_base_padded --layer 3
  python local/logreg_reference.py dump/fbank --layer 0 --dims 80     # the 80 log-mel dims
"""
import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sertk.data.datadir import DataDir
from sertk.data.feature_reader import FeatureReader
from sertk.score.metrics import classification_metrics


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("feat_dir")
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--dims", type=int, default=0, help="use only the first N dims (0: all)")
    ap.add_argument("--data", default="data")
    a = ap.parse_args()
    r, d = FeatureReader(a.feat_dir), DataDir(f"{a.data}/all")
    y, labels = d.tables["utt2emo"], d.emotions()
    X = {}
    for u in d.utts:
        x = r[u][a.layer][:, : a.dims or None]
        X[u] = np.concatenate([x.mean(0), x.std(0)])
    num_folds = int(open(f"{a.data}/folds/num_folds").read())
    for with_valid in (False, True):
        R, H, per_fold = [], [], []
        for f in range(1, num_folds + 1):
            fold = f"{a.data}/folds/fold{f}"
            tr = DataDir(f"{fold}/train").utts + (DataDir(f"{fold}/valid").utts if with_valid else [])
            te = DataDir(f"{fold}/test").utts
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
            clf.fit([X[u] for u in tr], [y[u] for u in tr])
            hyp, ref = list(clf.predict([X[u] for u in te])), [y[u] for u in te]
            per_fold.append(classification_metrics(ref, hyp, labels))
            R, H = R + ref, H + hyp
        pooled = classification_metrics(R, H, labels)
        mean = {k: 100 * np.mean([m[k] for m in per_fold]) for k in ("wa", "ua")}
        print(f"{a.feat_dir} layer {a.layer}: train on {'train+valid' if with_valid else 'train'} speakers: "
              f"mean over folds WA {mean['wa']:.1f} UA {mean['ua']:.1f} | "
              f"pooled WA {100 * pooled['wa']:.1f} UA {100 * pooled['ua']:.1f}")


if __name__ == "__main__":
    main()
