"""Fitting the pooled-statistics heads: the probe's logistic regression is scikit-learn's,
selection reads only training speakers, and a probe trains, packs and infers like any model."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sertk.data.datadir import DataDir
from sertk.models.checkpoint import load_model
from sertk.train.config import load_config
from sertk.train.span_linear import SpanLogisticRegression
from sertk.train.trainer import train


@pytest.mark.parametrize("C", [0.01, 1.0])
def test_span_logistic_regression_is_sklearns(C):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 500))  # far more dimensions than rows, as pooled Whisper statistics
    y = rng.integers(0, 4, 60)
    X[:, :5] += y[:, None]
    y[y == 3] = 2  # class 3 absent from training: never predicted
    ref = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, tol=1e-8).fit(X, y)
    ours = SpanLogisticRegression(C, num_classes=4, balanced=True).fit(X, y)
    Xt = rng.normal(size=(20, 500))
    p = ours.predict_proba(Xt)
    assert np.allclose(p[:, :3], ref.predict_proba(Xt), atol=1e-3)
    assert np.all(p[:, 3] < 1e-6)


def _conf(model, extra=()):
    base = {"linear": ["model=linear", "model_conf.c_grid=[0.1,1.0]"],
            "pooled_mlp": ["model=pooled_mlp", "model_conf.ensemble=2", "model_conf.hidden=32", "max_epochs=12",
                           "batch_size=16"]}[model]
    return load_config(overrides=base + ["inner_folds=3"] + list(extra))


@pytest.mark.parametrize("model", ["linear", "pooled_mlp"])
def test_pooled_heads_learn_classes_and_avd_from_training_speakers(model, synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    r = train(_conf(model), fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    for f in ("best.pt", "config.yaml", "selection.json", "train.log", "train.done"):
        assert (tmp_path / "exp" / f).exists(), f
    sel = json.loads((tmp_path / "exp" / "selection.json").read_text())
    spk = set(DataDir(fold / "train").speakers()) | set(DataDir(fold / "valid").speakers())
    assert set(sel["train_speakers"]) == spk and not spk & set(DataDir(fold / "test").speakers())
    assert r["cls"]["inner_score"] > 0.5 and r["reg"]["inner_score"] > 0.3  # chance: 0.25 UA, 0 CCC
    _, ckpt = load_model(tmp_path / "exp" / "best.pt")
    assert ckpt["io"]["avd"] and ckpt["io"]["num_classes"] == 4
    # a rerun is a no-op
    assert train(_conf(model), fold / "train", fold / "valid", synth_fbank, tmp_path / "exp") == r


def test_probe_fit_pack_infer_round_trip(synth, synth_folds, synth_fbank, tmp_path):
    """The probe trains, packs and infers through the CLI like every model; posteriors on raw
    audio (packed) equal those on the cached features."""
    fold = synth_folds / "fold1"
    sertk = [sys.executable, "-m", "sertk.cli"]
    run = lambda *a: subprocess.run(sertk + list(a), capture_output=True, text=True, check=True)  # noqa: E731
    exp, extract_yaml = tmp_path / "exp", Path(synth_fbank) / "extract.yaml"
    run("train", "--train-dir", str(fold / "train"), "--valid-dir", str(fold / "valid"), "--feat-dir",
        str(synth_fbank), "--exp-dir", str(exp), "model=linear", "model_conf.c_grid=[1.0]", "inner_folds=3")
    run("infer", "--model", str(exp / "best.pt"), "--feat-dir", str(synth_fbank), "--out", str(tmp_path / "feats"),
        str(fold / "test"))
    run("pack", "--exp-dir", str(exp), "--extract-config", str(extract_yaml), "--out", str(tmp_path / "probe.tar.gz"))
    run("infer", "--model", str(tmp_path / "probe.tar.gz"), "--out", str(tmp_path / "audio"), str(fold / "test"))
    read = lambda d: {l.split()[0]: np.array(l.split()[1:], float)  # noqa: E731
                      for l in (tmp_path / d / "posteriors.txt").read_text().splitlines()[1:]}
    a, b = read("feats"), read("audio")
    assert a.keys() == b.keys() == set(DataDir(fold / "test").utts)
    assert max(np.abs(a[u] - b[u]).max() for u in a) < 1e-3
    hyp = (tmp_path / "feats" / "utt2emo_hyp").read_text().split("\n")
    ref = DataDir(fold / "test").tables["utt2emo"]
    acc = np.mean([ref[l.split()[0]] == l.split()[1] for l in hyp if l])
    assert acc > 0.5, acc  # 4 classes
