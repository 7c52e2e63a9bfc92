"""Fitting the pooled-statistics heads: the probe's logistic regression is scikit-learn's,
selection reads only training speakers, and a probe trains, packs and infers like any model."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from sertk.data.datadir import DataDir
from sertk.models import MODELS
from sertk.models.checkpoint import load_model
from sertk.train.config import load_config
from sertk.train.pooled import (averaged_over_grid, fit_linear_map, ranked_by, score, select_linear, simplest_within,
                                smoothed_along, speaker_folds, speaker_partitions)
from sertk.train.shrinkage_lda import ShrinkageLDA, ledoit_wolf_shrinkage
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


@pytest.mark.parametrize("dims", [20, 500])  # fewer and far more dimensions than rows
@pytest.mark.parametrize("balanced", [True, False])
def test_shrinkage_lda_is_sklearns(dims, balanced):
    from sklearn.covariance import ledoit_wolf_shrinkage as sklearn_shrinkage
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, dims)) * rng.uniform(0.1, 3.0, dims)  # unequal scales: per-class standardising
    y = rng.integers(0, 4, 60)
    X[:, :5] += y[:, None]
    X[:, 7] = 2.0  # constant: scaled by 1, as StandardScaler does
    y[y == 3] = 2  # class 3 absent from training: never predicted
    assert ledoit_wolf_shrinkage(X[y == 0]) == pytest.approx(sklearn_shrinkage(X[y == 0]), rel=1e-9)
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto",
                                     priors=np.full(3, 1 / 3) if balanced else None).fit(X, y)
    ours = ShrinkageLDA(num_classes=4, balanced=balanced).fit(X, y)
    assert np.allclose(ours.coef_[:3], ref.coef_, rtol=1e-6, atol=1e-9)
    assert np.allclose(ours.intercept_[:3], ref.intercept_, rtol=1e-6, atol=1e-9)
    Xt = rng.normal(size=(20, dims))
    p = ours.predict_proba(Xt)
    assert np.allclose(p[:, :3], ref.predict_proba(Xt), atol=1e-9)
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



def test_the_linear_probe_is_seed_free_and_the_mlp_head_is_not(synth_folds, synth_fbank, tmp_path):
    """`seed_free` (one run stands for every seed in `sertk compare`) holds for the probe only."""
    fold = synth_folds / "fold1"
    for model in ("linear", "pooled_mlp"):
        weights = []
        for seed in (0, 7):
            train(_conf(model, [f"seed={seed}"]), fold / "train", fold / "valid", synth_fbank, tmp_path / f"{model}{seed}")
            weights.append(load_model(tmp_path / f"{model}{seed}" / "best.pt")[0].state_dict())
        same = all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
        assert same == MODELS[model].seed_free, model


@pytest.mark.parametrize("model", ["linear", "pooled_mlp"])
def test_shrinkage_lda_as_the_linear_map(model, synth_folds, synth_fbank, tmp_path):
    """`linear_classifier: shrinkage_lda`: the class map is the LDA fitted on all training speakers
    (no C to choose); the checkpoint carries it; V/A/D keep ridge."""
    fold = synth_folds / "fold1"
    conf = _conf(model, ["model_conf.linear_classifier=shrinkage_lda"])
    r = train(conf, fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    param = r["cls"]["classifier" if model == "linear" else "linear_param"]
    assert param == "shrinkage_lda" and r["cls"]["inner_score"] > 0.5
    assert (r["reg"]["alpha"] if model == "linear" else r["reg"]["linear_param"]) in (10.0, 100.0, 1000.0, 10000.0)
    model_, ckpt = load_model(tmp_path / "exp" / "best.pt")
    assert model_.linear_classifier == "shrinkage_lda"
    lin = model_.cls if model == "linear" else model_.cls_linear
    assert lin.weight.abs().sum() > 0
    with pytest.raises(ValueError, match="linear_classifier 'lda'"):
        train(_conf(model, ["model_conf.linear_classifier=lda"]), fold / "train", fold / "valid", synth_fbank,
              tmp_path / "exp2")


def test_simplest_within_tolerance_keeps_the_best_unless_told():
    scores = {0.01: 0.80, 0.1: 0.84, 1.0: 0.85, 10.0: 0.851}
    assert simplest_within(scores, 0.0, lambda c: c) == 10.0  # plain argmax
    assert simplest_within(scores, 0.01, lambda c: c) == 1.0  # 0.84 is 0.011 short
    assert simplest_within(scores, 0.02, lambda c: c) == 0.1
    assert simplest_within({0.0: 0.7, 0.5: 0.7, 1.0: 0.69}, 0.0, lambda w: -w) == 0.0  # ties: the first
    assert simplest_within({0.0: 0.7, 0.5: 0.7, 1.0: 0.69}, 0.01, lambda w: -w) == 1.0


def test_select_tolerance_prefers_the_linear_member_and_small_c(synth_folds, synth_fbank, tmp_path):
    """With every choice within the tolerance, pooled_mlp takes the linear member whole and its
    smallest C, and trains no MLP; recorded in selection.json."""
    fold = synth_folds / "fold1"
    train(_conf("pooled_mlp", ["select_tolerance=1.0", "model_conf.c_grid=[0.01,0.1,1.0]"]), fold / "train",
          fold / "valid", synth_fbank, tmp_path / "exp")
    sel = json.loads((tmp_path / "exp" / "selection.json").read_text())
    assert sel["cls"]["linear_weight"] == 1.0 and sel["cls"]["linear_param"] == 0.01
    assert sel["reg"]["linear_weight"] == 1.0 and sel["reg"]["linear_param"] == 10000.0  # the largest alpha
    with pytest.raises(ValueError, match="select_tolerance"):
        _conf("pooled_mlp", ["select_tolerance=-0.1"])

def test_log_loss_choice_weighs_each_class_equally():
    """select_by: log_loss ranks by the negative class-balanced log loss; the metric otherwise."""
    ref = np.array([0, 0, 0, 1, -1])  # -1: unlabelled, ignored
    sure = np.array([[.9, .1], [.9, .1], [.9, .1], [.1, .9], [.5, .5]])
    conf = load_config(overrides=["select_by=log_loss"])
    # one wrong minority utterance costs as much as all three majority ones
    miss = sure.copy()
    miss[3] = [.9, .1]
    preds, ua = {"sure": sure, "miss": miss}, {"sure": 1.0, "miss": 0.5}
    ranked = ranked_by("cls", ref, [preds], ua, conf)
    assert ranked["sure"] == pytest.approx(np.log(0.9))
    assert ranked["miss"] == pytest.approx(-(-np.log(0.9) - np.log(0.1)) / 2)
    assert ranked_by("cls", ref, [preds], ua, load_config()) is ua  # UA (the metric) otherwise
    assert ranked_by("reg", ref, [preds], ua, conf) is ua  # V/A/D stay on CCC
    with pytest.raises(ValueError, match="select_by"):
        load_config(overrides=["select_by=brier"])


def test_select_by_log_loss_chooses_the_mix_by_it(synth_folds, synth_fbank, tmp_path):
    """pooled_mlp with select_by: log_loss weighs its linear member by the inner log loss, and
    the probe picks its layer set and C by it (recorded next to the inner UA in selection.json)."""
    fold = synth_folds / "fold1"
    train(_conf("pooled_mlp", ["select_by=log_loss"]), fold / "train", fold / "valid", synth_fbank,
          tmp_path / "exp")
    sel = json.loads((tmp_path / "exp" / "selection.json").read_text())["cls"]
    losses = sel["inner_mix_log_loss"]
    assert losses.keys() == sel["inner_mix_scores"].keys()
    assert str(sel["linear_weight"]) == min(losses, key=losses.get)
    # the probe: its layer set and C by the same loss, recorded next to the inner UA
    train(_conf("linear", ["select_by=log_loss"]), fold / "train", fold / "valid", synth_fbank, tmp_path / "probe")
    sel = json.loads((tmp_path / "probe" / "selection.json").read_text())["cls"]
    losses = sel["inner_log_loss"]
    assert losses.keys() == sel["inner_scores"].keys()
    assert f"{sel['layers']}/{sel['C']}" == min(losses, key=losses.get)


def test_smoothed_along_averages_grid_neighbours_per_line():
    """Each score becomes the mean of itself and its grid neighbours (the ends repeated), within
    its own line (layer set); a lone spike loses to a broad plateau."""
    scores = {(0, 10.0): 0.86, (0, 0.01): 0.80, (0, 0.1): 0.85, (0, 1.0): 0.84, (1, 1.0): 0.5}
    sm = smoothed_along(scores, lambda k: k)
    assert list(sm) == list(scores)  # the caller's order (ties: the first key)
    assert sm[(0, 0.01)] == pytest.approx((0.80 + 0.80 + 0.85) / 3)
    assert sm[(0, 0.1)] == pytest.approx((0.80 + 0.85 + 0.84) / 3)
    assert sm[(0, 10.0)] == pytest.approx((0.84 + 0.86 + 0.86) / 3)
    assert sm[(1, 1.0)] == 0.5  # a line of one key keeps its score
    spike = {0.0: 0.80, 0.25: 0.80, 0.5: 0.86, 0.75: 0.84, 1.0: 0.845}
    assert max(spike, key=spike.get) == 0.5
    sm = smoothed_along(spike, lambda w: (0, w))
    assert max(sm, key=sm.get) == 0.75


def test_select_smooth_chooses_by_the_smoothed_scores(synth_folds, synth_fbank, tmp_path):
    """pooled_mlp with select_smooth: its linear member's weight is the argmax of the smoothed
    inner scores, recorded next to the raw ones; the probe's C likewise."""
    fold = synth_folds / "fold1"
    train(_conf("pooled_mlp", ["select_smooth=true"]), fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    sel = json.loads((tmp_path / "exp" / "selection.json").read_text())["cls"]
    raw, ranked = sel["inner_mix_scores"], sel["inner_mix_ranked_by"]
    want = smoothed_along(raw, lambda w: (0, float(w)))
    assert ranked.keys() == raw.keys() and all(ranked[k] == pytest.approx(v, abs=2e-4) for k, v in want.items())
    assert str(sel["linear_weight"]) == max(ranked, key=ranked.get)
    train(_conf("linear", ["select_smooth=true", "model_conf.c_grid=[0.01,0.1,1.0]"]), fold / "train",
          fold / "valid", synth_fbank, tmp_path / "probe")
    sel = json.loads((tmp_path / "probe" / "selection.json").read_text())["cls"]
    ranked = sel["inner_ranked_by"]
    assert f"{sel['layers']}/{sel['C']}" == max(ranked, key=ranked.get)
    raw = {tuple(k.split("/")): v for k, v in sel["inner_scores"].items()}
    want = smoothed_along({(a, float(c)): v for (a, c), v in raw.items()}, lambda k: k)
    assert all(ranked[f"{a}/{c}"] == pytest.approx(v, abs=2e-4) for (a, c), v in want.items())


@pytest.mark.parametrize("head", ["cls", "reg"])
def test_grid_average_is_one_linear_map_of_the_mean_fit(head):
    """linear_grid_average: the linear member written into one nn.Linear is the mean of the fits
    over the grid, and its outputs are what averaged_over_grid makes of theirs (the mean of the
    V/A/D; for classes the renormalised mean log posterior, i.e. the mean logits)."""
    import torch
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(40, 3, 8))  # utterances x layers x statistics
    y = rng.integers(0, 3, 40)
    Z[:, 1, :2] += y[:, None]
    t = y if head == "cls" else np.stack([y, -y, 2.0 * y], 1).astype(float)
    out_dim, grid = (4, (0.1, 1.0, 10.0)) if head == "cls" else (3, (1.0, 100.0, 10000.0))
    conf = load_config(overrides=["linear_grid_average=true"])
    lins = [torch.nn.Linear(3 * 8, out_dim) for _ in range(len(grid) + 1)]
    fit_linear_map(head, Z, t, [0, 1, 2], grid, conf, 4, lins[0])
    for p, lin in zip(grid, lins[1:]):
        fit_linear_map(head, Z, t, [0, 1, 2], p, conf, 4, lin)
    x = torch.as_tensor(rng.normal(size=(5, 24)), dtype=torch.float32)
    with torch.no_grad():  # the grid's fits start from each other (as in the inner CV): equal to the solver's tolerance
        mean_w = torch.stack([lin.weight for lin in lins[1:]]).mean(0)
        assert torch.allclose(lins[0].weight, mean_w, atol=1e-3 * float(mean_w.abs().max()))
        outs = [lin(x).numpy().astype(float) for lin in lins]
    if head == "cls":
        outs = [np.exp(o - o.max(1, keepdims=True)) / np.exp(o - o.max(1, keepdims=True)).sum(1, keepdims=True)
                for o in outs]
    assert np.allclose(outs[0], averaged_over_grid(head, outs[1:]), atol=1e-3)


def test_grid_average_chooses_layer_sets_only(synth_folds, synth_fbank, tmp_path):
    """With linear_grid_average the inner CV scores one candidate per layer set (its fits averaged
    over the C grid), records the grid as the linear member's C, and the model infers."""
    fold = synth_folds / "fold1"
    train(_conf("linear", ["linear_grid_average=true", "model_conf.c_grid=[0.01,0.1,1.0]"]), fold / "train",
          fold / "valid", synth_fbank, tmp_path / "probe")
    sel = json.loads((tmp_path / "probe" / "selection.json").read_text())["cls"]
    assert sel["C"] == [0.01, 0.1, 1.0]
    assert all(k.endswith("/(0.01, 0.1, 1.0)") for k in sel["inner_scores"])
    assert len(sel["inner_scores"]) == len({k.split("/")[0] for k in sel["inner_scores"]})
    train(_conf("pooled_mlp", ["linear_grid_average=true"]), fold / "train", fold / "valid", synth_fbank,
          tmp_path / "mlp")
    sel = json.loads((tmp_path / "mlp" / "selection.json").read_text())["cls"]
    assert isinstance(sel["linear_param"], list) and len(sel["linear_param"]) > 1
    model = load_model(tmp_path / "mlp" / "best.pt")[0]
    assert model is not None


def test_repeated_partitions_are_new_speaker_folds():
    """inner_repeats: the first partition is the one used before repeats existed; the others
    put whole speakers into other folds; where each fold holds one speaker there is one."""
    groups = [f"s{i % 8}" for i in range(64)]
    conf = load_config(overrides=["inner_repeats=3", "inner_folds=4"])
    parts = speaker_partitions(groups, conf)
    assert len(parts) == 3
    same = [va.tolist() for _, va in speaker_folds(groups, 4)]
    assert [va.tolist() for _, va in parts[0]] == same
    g = np.array(groups)
    as_sets = [sorted(tuple(sorted(set(g[va]))) for _, va in p) for p in parts]
    for p in parts:  # folds of whole speakers, every utterance held out once
        assert sorted(np.concatenate([va for _, va in p]).tolist()) == list(range(64))
        assert all(not set(g[tr]) & set(g[va]) for tr, va in p)
    assert len({tuple(s) for s in as_sets}) > 1
    assert len(speaker_partitions(groups, load_config(overrides=["inner_repeats=3", "inner_folds=8"]))) == 1
    with pytest.raises(ValueError, match="inner_repeats"):
        load_config(overrides=["inner_repeats=0"])


def test_inner_min_speakers_makes_fewer_larger_folds():
    """inner_min_speakers: no inner fold holds fewer training speakers than it (at least 2 folds);
    1 (the default) leaves inner_folds as it was, up to leave-one-speaker-out."""
    def held_out_speakers(n_spk, overrides):
        groups = [f"s{i % n_spk}" for i in range(6 * n_spk)]
        (folds,) = speaker_partitions(groups, load_config(overrides=overrides))
        g = np.array(groups)
        return [len(set(g[va])) for _, va in folds]

    assert held_out_speakers(8, ["inner_folds=10"]) == [1] * 8
    assert held_out_speakers(8, ["inner_folds=10", "inner_min_speakers=2"]) == [2] * 4
    assert held_out_speakers(8, ["inner_min_speakers=2"]) == [2] * 4
    assert sorted(held_out_speakers(23, ["inner_folds=10", "inner_min_speakers=2"])) == [2] * 7 + [3] * 3
    assert sorted(held_out_speakers(3, ["inner_min_speakers=2"])) == [1, 2]  # 2 folds at least
    assert held_out_speakers(12, []) == held_out_speakers(12, ["inner_min_speakers=1"])
    for bad in ("inner_min_speakers=0", "inner_folds=1"):
        with pytest.raises(ValueError, match=bad.split("=")[0]):
            load_config(overrides=[bad])


@pytest.mark.parametrize("head", ["cls", "reg"])
def test_repeated_inner_cv_scores_each_choice_by_its_mean_over_partitions(head):
    """Each (layer set, C) is scored by the mean of its scores on the partitions, each partition's
    held-out predictions the same as an inner CV over that partition alone."""
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(60, 3, 6))
    y = rng.integers(0, 3, 60)
    Z[:, 1, :2] += 0.7 * y[:, None]
    t = y if head == "cls" else np.stack([y, -y, 2.0 * y], 1).astype(float)
    groups = [f"s{i % 6}" for i in range(60)]
    conf = load_config(overrides=["inner_repeats=3", "inner_folds=3"])
    parts = speaker_partitions(groups, conf)
    sets, grid = [[0], [1], [0, 1, 2]], ((0.1, 1.0) if head == "cls" else (1.0, 100.0))
    best, scores, oof, _ = select_linear(head, Z, t, parts, sets, grid, conf, 3)
    alone = [select_linear(head, Z, t, [p], sets, grid, conf, 3) for p in parts]
    metric = "ua" if head == "cls" else "ccc"
    for k in scores:
        assert scores[k] == pytest.approx(np.mean([a[1][k] for a in alone]))
    assert best == max(scores, key=scores.get)
    for o, a in zip(oof, alone):
        _, s_alone, _, _ = a
        assert score(head, t, o, metric) == pytest.approx(s_alone[best])


def test_repeated_inner_cv_trains_both_heads(synth_folds, synth_fbank, tmp_path):
    """Both pooled heads train with inner_repeats and record how many partitions chose them."""
    fold = synth_folds / "fold1"
    for model in ("linear", "pooled_mlp"):
        train(_conf(model, ["inner_repeats=2", "inner_folds=2"]), fold / "train", fold / "valid", synth_fbank,
              tmp_path / model)
        info = json.loads((tmp_path / model / "selection.json").read_text())
        assert info["inner_partitions"] == 2
        assert load_model(tmp_path / model / "best.pt")[0] is not None


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


def _speaker_offset_data(seed=0, speakers=10, per_class=6, classes=4, L=2, D=3):
    """Pooled statistics whose speakers differ by offsets (levels, voices) larger than the
    emotion signal: (Z, labels, speaker ids)."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.repeat(np.arange(classes), per_class), speakers)
    spk = np.repeat([f"s{i}" for i in range(speakers)], classes * per_class)
    signal = rng.normal(size=(classes, L, 2 * D))
    offset = 4.0 * rng.normal(size=(speakers, L, 2 * D))
    Z = signal[y] + offset[np.repeat(np.arange(speakers), classes * per_class)] + 0.5 * rng.normal(size=(len(y), L, 2 * D))
    return Z.astype(np.float32), y, spk


@pytest.mark.parametrize("mode", ["mean", "z"])
def test_speaker_norm_reads_each_speaker_by_its_own_utterances(mode):
    """Per-speaker normalisation removes what separates speakers; the unseen speakers'
    statistics come from their own (unlabelled) utterances only, and a speaker's result
    does not depend on which other speakers are inferred with it."""
    import torch
    from sertk.models import build_model
    from sertk.models.pooled import speaker_normalise
    from sertk.score.metrics import ua_from_indices
    from sertk.train.pooled import fit_linear

    Z, y, spk = _speaker_offset_data()
    train, test = np.isin(spk, [f"s{i}" for i in range(7)]), ~np.isin(spk, [f"s{i}" for i in range(7)])
    conf = load_config(overrides=["model=linear", "model_conf.c_grid=[0.1,1.0]", "inner_folds=3"])
    ua = {}
    for norm in ("none", mode):
        model = build_model("linear", {"c_grid": [0.1, 1.0], "speaker_norm": norm}, input_layers=2, input_dim=3,
                            num_classes=4)
        fit_linear(model, speaker_normalise(Z[train], spk[train], norm), {"cls": y[train]}, spk[train], conf)
        with torch.no_grad():
            if norm == "none":
                out = model.forward_pooled(model.standardise(torch.from_numpy(Z[test])))
            else:
                out = model.forward_speakers(Z[test], spk[test])
                alone = model.forward_speakers(Z[spk == "s9"], spk[spk == "s9"])  # one speaker by itself
                assert torch.allclose(alone["logits"], out["logits"][spk[test] == "s9"], atol=1e-5)
                with pytest.raises(ValueError, match="normalises per speaker"):
                    model(torch.zeros(1, 2, 5, 3), torch.tensor([5]))  # single inputs are refused
        ua[norm] = ua_from_indices(y[test], out["logits"].argmax(-1).numpy())
    assert ua[mode] > 0.9 and ua[mode] > ua["none"] + 0.2, ua
    Zn = speaker_normalise(Z, spk, mode)
    for s in np.unique(spk):
        assert np.allclose(Zn[spk == s].mean(0), 0, atol=1e-4)
    with pytest.raises(ValueError, match="speaker_norm 'speaker'"):
        build_model("linear", {"speaker_norm": "speaker"}, input_layers=2, input_dim=3, num_classes=4)


def test_speaker_norm_head_trains_and_infers_by_data_dir_speakers(synth_folds, synth_fbank, tmp_path):
    """The default head with `speaker_norm` through the CLI: `sertk infer --feat-dir` on a data
    dir normalises by its utt2spk (the posteriors equal the model's own forward_speakers);
    raw audio, one file at a time, is refused in one line."""
    import torch
    from sertk.data.feature_reader import FeatureReader
    from sertk.models.pooled import pooled_stats

    fold = synth_folds / "fold1"
    sertk = [sys.executable, "-m", "sertk.cli"]
    run = lambda *a: subprocess.run(sertk + list(a), capture_output=True, text=True)  # noqa: E731
    exp = tmp_path / "exp"
    r = run("train", "--train-dir", str(fold / "train"), "--valid-dir", str(fold / "valid"), "--feat-dir",
            str(synth_fbank), "--exp-dir", str(exp), "model=pooled_mlp", "model_conf.ensemble=2",
            "model_conf.hidden=32", "max_epochs=8", "inner_folds=3", "model_conf.speaker_norm=mean")
    assert r.returncode == 0, r.stderr
    r = run("infer", "--model", str(exp / "best.pt"), "--feat-dir", str(synth_fbank), "--out", str(tmp_path / "dec"),
            str(fold / "test"))
    assert r.returncode == 0, r.stderr
    post = {l.split()[0]: np.array(l.split()[1:], float)
            for l in (tmp_path / "dec" / "posteriors.txt").read_text().splitlines()[1:]}
    test = DataDir(fold / "test")
    model, _ = load_model(exp / "best.pt")
    with torch.no_grad():
        ref = torch.softmax(model.forward_speakers(pooled_stats(FeatureReader(synth_fbank), test.utts),
                                                   [test.utt2spk[u] for u in test.utts])["logits"], -1).numpy()
    assert max(np.abs(post[u] - ref[i]).max() for i, u in enumerate(test.utts)) < 1e-4
    wav = next(iter(test.tables["wav.scp"].values()))
    r = run("infer", "--model", str(exp / "best.pt"), "--extract-config", str(Path(synth_fbank) / "extract.yaml"), wav)
    assert r.returncode != 0 and "normalises per speaker" in r.stderr and "Traceback" not in r.stderr
    # --one-speaker: one speaker's audio files, normalised together, as that speaker in a data dir
    spk = test.utt2spk[test.utts[0]]
    mine = [u for u in test.utts if test.utt2spk[u] == spk]
    r = run("infer", "--model", str(exp / "best.pt"), "--extract-config", str(Path(synth_fbank) / "extract.yaml"),
            "--one-speaker", "--out", str(tmp_path / "one"), *[test.tables["wav.scp"][u] for u in mine])
    assert r.returncode == 0, r.stderr
    one = {l.split()[0]: np.array(l.split()[1:], float)
           for l in (tmp_path / "one" / "posteriors.txt").read_text().splitlines()[1:]}
    with torch.no_grad():
        alone = torch.softmax(model.forward_speakers(pooled_stats(FeatureReader(synth_fbank), mine), [spk] * len(mine))
                              ["logits"], -1).numpy()
    stems = {Path(test.tables["wav.scp"][u]).stem: i for i, u in enumerate(mine)}
    assert set(one) == set(stems) and max(np.abs(one[k] - alone[i]).max() for k, i in stems.items()) < 1e-3
    r = run("export", "--extract-config", str(Path(synth_fbank) / "extract.yaml"), str(exp / "best.pt"),
            str(tmp_path / "onnx"))
    assert r.returncode != 0 and "normalises per speaker" in r.stderr and "Traceback" not in r.stderr


def test_speaker_norm_warns_where_speakers_show_one_class(caplog):
    """A corpus whose speakers each show one class (URDU's talk-show guests): normalising by
    speaker removes the class, and the training log says so."""
    import logging
    from sertk.models.pooled import speaker_normalise
    from sertk.train.pooled import warn_speaker_norm

    groups = np.repeat(["a", "b", "c", "d"], 6)
    with caplog.at_level(logging.WARNING):
        warn_speaker_norm("mean", groups, np.tile(np.arange(3), 8))  # every speaker shows all classes
        speaker_normalise(np.zeros((24, 2, 4)), groups, "mean")  # 6 utterances each
        assert not caplog.records
        warn_speaker_norm("mean", groups, np.repeat([0, 1, 2, 2], 6))
        speaker_normalise(np.zeros((9, 2, 4)), np.array(["a", "a", "b"] + ["c"] * 6), "mean")
    messages = [r.getMessage() for r in caplog.records]
    assert "4 of 4 training speakers show one class only" in messages[0]
    assert "speaker(s) a b have fewer than 5 utterances" in messages[1]


def test_speaker_norm_auto_is_chosen_on_training_speakers(synth_folds, synth_fbank, tmp_path):
    """`speaker_norm: auto`: the inner cross-validation over the training speakers picks the
    normalisation; the checkpoint records the one chosen (never `auto`), selection.json both
    inner scores, and a rerun is a no-op."""
    fold = synth_folds / "fold1"
    conf = _conf("linear", ["model_conf.speaker_norm=auto"])
    train(conf, fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    sel = json.loads((tmp_path / "exp" / "selection.json").read_text())
    scores = sel["speaker_norm"]["inner_scores"]
    assert set(scores) == {"none", "mean"} and sel["speaker_norm"]["chosen"] == max(scores, key=scores.get)
    model, ckpt = load_model(tmp_path / "exp" / "best.pt")
    assert ckpt["config"]["model_conf"]["speaker_norm"] == model.speaker_norm == sel["speaker_norm"]["chosen"]
    assert train(conf, fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")["speaker_norm"] == sel["speaker_norm"]


def test_speaker_norm_auto_follows_the_corpus():
    """auto normalises where speakers differ by offsets and each shows every class, and does
    not where each speaker shows one class (what URDU's talk-show speakers do)."""
    from sertk.train.pooled import fit_speaker_norm

    conf = load_config(overrides=["model=linear", "model_conf.c_grid=[0.1,1.0]", "inner_folds=3",
                                  "model_conf.speaker_norm=auto"])
    io = {"input_layers": 2, "input_dim": 3, "num_classes": 4}
    Z, y, spk = _speaker_offset_data()
    assert fit_speaker_norm(conf, io, Z, {"cls": y}, spk)[0] == "mean"
    rng = np.random.default_rng(1)  # 12 speakers, each with one class: the class is the speaker's offset
    y1 = np.repeat(np.arange(12) % 4, 8)
    Z1 = (rng.normal(size=(4, 2, 6))[y1] + 0.5 * rng.normal(size=(96, 2, 6))).astype(np.float32)
    assert fit_speaker_norm(conf, io, Z1, {"cls": y1}, np.repeat([f"s{i}" for i in range(12)], 8))[0] == "none"
