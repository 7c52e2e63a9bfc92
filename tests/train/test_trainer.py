import json
import os
import subprocess
import sys

import pytest
import torch

from sertk.train import trainer as trainer_mod
from sertk.train.config import load_config
from sertk.train.trainer import train
from tests.interrupt import interrupt_at_valid_pass

CONF = ["max_epochs=6", "batch_size=8", "model_conf.projection_dim=32", "model_conf.hidden_dims=[32]"]


def _run(folds, feats, exp, extra=()):
    conf = load_config(overrides=CONF + list(extra))
    return train(conf, folds / "fold1" / "train", folds / "fold1" / "valid", feats, exp)


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_train_outputs_and_rerun_is_noop(synth_folds, synth_fbank, tmp_path):
    exp = tmp_path / "exp"
    r = _run(synth_folds, synth_fbank, exp)
    for f in ("config.yaml", "train.log", "best.pt", "last.pt", "history.json", "curves.png", "train.done"):
        assert (exp / f).exists(), f
    assert list((exp / "tensorboard").iterdir())
    hist = json.loads((exp / "history.json").read_text())
    assert len(hist) == 6 and r["best_epoch"] == max(range(1, 7), key=lambda e: (hist[e - 1]["valid"]["ua"], -e))
    assert r["valid"]["ua"] > 0.5  # 4 balanced classes: chance is 0.25
    mtime = (exp / "best.pt").stat().st_mtime
    assert _run(synth_folds, synth_fbank, exp) == r
    assert (exp / "best.pt").stat().st_mtime == mtime


def test_same_seed_same_model(synth_folds, synth_fbank, tmp_path):
    _run(synth_folds, synth_fbank, tmp_path / "a", ["max_epochs=2"])
    _run(synth_folds, synth_fbank, tmp_path / "b", ["max_epochs=2"])
    _run(synth_folds, synth_fbank, tmp_path / "c", ["max_epochs=2", "seed=1"])
    a, b, c = (_weights(tmp_path / x / "last.pt") for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_interrupted_training_resumes_to_the_same_model(synth_folds, synth_fbank, tmp_path, monkeypatch):
    _run(synth_folds, synth_fbank, tmp_path / "full")
    undo = interrupt_at_valid_pass(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        _run(synth_folds, synth_fbank, tmp_path / "resumed")
    assert not (tmp_path / "resumed" / "train.done").exists()
    undo()
    _run(synth_folds, synth_fbank, tmp_path / "resumed")
    assert "resumed from" in (tmp_path / "resumed" / "train.log").read_text()
    for name in ("last.pt", "best.pt"):
        a, b = _weights(tmp_path / "full" / name), _weights(tmp_path / "resumed" / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    h1 = json.loads((tmp_path / "full" / "history.json").read_text())
    h2 = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert [h["valid"] for h in h1] == [h["valid"] for h in h2]


def test_resume_with_another_config_is_refused(synth_folds, synth_fbank, tmp_path, monkeypatch):
    undo = interrupt_at_valid_pass(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        _run(synth_folds, synth_fbank, tmp_path / "exp")
    undo()
    with pytest.raises(ValueError, match=r"was started with another config \(optim_conf.lr 0.001 -> 0.5\)"):
        _run(synth_folds, synth_fbank, tmp_path / "exp", ["optim_conf.lr=0.5"])


def test_resume_of_a_run_started_before_a_new_config_key(synth_folds, synth_fbank, tmp_path):
    """A config.yaml written before a key joined the defaults resumes when the key has its default."""
    import yaml

    exp = tmp_path / "exp"
    r = _run(synth_folds, synth_fbank, exp)
    conf = yaml.safe_load((exp / "config.yaml").read_text())
    del conf["select"]
    (exp / "config.yaml").write_text(yaml.safe_dump(conf))
    assert _run(synth_folds, synth_fbank, exp) == r
    with pytest.raises(ValueError, match="with another config"):
        _run(synth_folds, synth_fbank, exp, ["select=inner_cv"])


def test_speaker_shared_between_train_and_valid_is_refused(synth_folds, synth_fbank, tmp_path):
    conf = load_config(overrides=CONF)
    with pytest.raises(ValueError, match=r"speaker\(s\) .* in both"):
        train(conf, synth_folds / "fold1" / "train", synth_folds / "fold1" / "train", synth_fbank, tmp_path)


def test_unknown_config_key(tmp_path):
    (tmp_path / "c.yaml").write_text("model: baseline\nlearning_rate: 3\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['learning_rate'\]"):
        load_config(tmp_path / "c.yaml")


def test_ddp_two_processes_on_cpu(synth_folds, synth_fbank, tmp_path):
    """--ngpu 2 relaunches under torchrun; without CUDA the gloo backend runs 2 CPU processes."""
    exp = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "sertk.cli", "train", "--ngpu", "2",
           "--train-dir", str(synth_folds / "fold1" / "train"), "--valid-dir", str(synth_folds / "fold1" / "valid"),
           "--feat-dir", str(synth_fbank), "--exp-dir", str(exp)] + CONF + ["max_epochs=3"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert (exp / "train.done").exists()
    log = (exp / "train.log").read_text()
    assert "world 2" in log
    hist = json.loads((exp / "history.json").read_text())
    assert len(hist) == 3
    # each rank saw half of the batches: the logged throughput counts both ranks
    assert "device cpu" in log


def test_average_of_n_best_checkpoints(synth_folds, synth_fbank, tmp_path):
    r = _run(synth_folds, synth_fbank, tmp_path / "avg", ["average_best=3"])
    hist = json.loads((tmp_path / "avg" / "history.json").read_text())
    top3 = sorted(range(1, 7), key=lambda e: (-hist[e - 1]["valid"]["ua"], e))[:3]
    kept = sorted(p.name for p in (tmp_path / "avg" / "nbest").iterdir())
    assert kept == sorted(f"epoch{e}.pt" for e in top3)
    states = [torch.load(tmp_path / "avg" / "nbest" / f"epoch{e}.pt", weights_only=True) for e in top3]
    best = _weights(tmp_path / "avg" / "best.pt")
    k = "head.0.weight"
    assert 0.0 <= r["valid_averaged"]["ua"] <= 1.0
    if r.get("average_rejected"):  # the average scored below the best epoch on valid: that epoch stays
        assert r["averaged_epochs"] == [top3[0]] and r["valid_averaged"]["ua"] < hist[top3[0] - 1]["valid"]["ua"]
        torch.testing.assert_close(best[k], states[0][k])
    else:
        assert r["averaged_epochs"] == sorted(top3)
        torch.testing.assert_close(best[k], sum(s[k] for s in states) / 3)


def test_refit_on_train_plus_valid_with_the_selected_epochs(synth_folds, synth_fbank, tmp_path):
    exp = tmp_path / "refit"
    r = _run(synth_folds, synth_fbank, exp, ["average_best=2", "refit=true"])
    sel = json.loads((exp / "select" / "run.done").read_text())
    assert r["averaged_epochs"] == sel["averaged_epochs"]
    assert len(sel["averaged_epochs"]) == (1 if sel.get("average_rejected") else 2)
    # the refit run trained on both splits, for as many epochs as the latest selected one
    assert r["refit"] == {"epochs_run": max(sel["averaged_epochs"]), "averaged_epochs": sel["averaged_epochs"]}
    refit_utts = (exp / "refit" / "data" / "utt2spk").read_text().splitlines()
    n_train = len((synth_folds / "fold1" / "train" / "utt2spk").read_text().splitlines())
    n_valid = len((synth_folds / "fold1" / "valid" / "utt2spk").read_text().splitlines())
    assert len(refit_utts) == n_train + n_valid
    assert "valid no utts" in (exp / "train.log").read_text()
    # best.pt (what inference uses) is the refit model; the selection model stays beside it
    assert all(torch.equal(a, b) for a, b in zip(_weights(exp / "best.pt").values(),
                                                 _weights(exp / "refit" / "best.pt").values()))
    assert not all(torch.equal(a, b) for a, b in zip(_weights(exp / "best.pt").values(),
                                                     _weights(exp / "select" / "best.pt").values()))
    assert _run(synth_folds, synth_fbank, exp, ["average_best=2", "refit=true"]) == r
    with pytest.raises(ValueError, match="with another config"):  # refit's fold dir keeps its config too
        _run(synth_folds, synth_fbank, exp, ["average_best=3", "refit=true"])


def test_inner_cv_picks_epochs_on_the_training_speakers_then_fits_on_all_of_them(synth_folds, synth_fbank, tmp_path):
    """select: inner_cv: one run per inner split of train + valid by whole speakers; the plan is
    the best epoch of their mean valid curve (up to the shortest run), the N best only when the
    splits' own N-best averages did not lose to their best epochs; the refit model is best.pt."""
    import numpy as np

    exp = tmp_path / "inner"
    extra = ["select=inner_cv", "inner_folds=3", "average_best=2", "patience=2"]
    r = _run(synth_folds, synth_fbank, exp, extra)
    fold = synth_folds / "fold1"
    spk = lambda d: set(line.split()[1] for line in (d / "utt2spk").read_text().splitlines())
    training = spk(fold / "train") | spk(fold / "valid")
    held_out = []
    for i in (1, 2, 3):
        d = exp / "inner" / "data" / f"split{i}"
        assert spk(d / "train") | spk(d / "valid") == training and not spk(d / "train") & spk(d / "valid")
        held_out += sorted(spk(d / "valid"))
    assert sorted(held_out) == sorted(training)  # every training speaker held out exactly once
    assert spk(fold / "test").isdisjoint(spk(exp / "refit" / "data"))
    runs = [json.loads((exp / "inner" / f"split{i}" / "run.done").read_text()) for i in (1, 2, 3)]
    curves = [[h["valid"]["ua"] for h in json.loads((exp / "inner" / f"split{i}" / "history.json").read_text())]
              for i in (1, 2, 3)]
    n = min(map(len, curves))
    curve = np.mean([c[:n] for c in curves], axis=0)
    ranked = sorted(range(1, n + 1), key=lambda e: (-curve[e - 1], e))
    kept = np.mean([x["valid_averaged"]["ua"] for x in runs]) >= np.mean([x["best_valid"] for x in runs])
    assert r["average_kept"] == kept and r["plan"] == sorted(ranked[:2] if kept else ranked[:1])
    assert r["inner_curve"] == [round(float(c), 4) for c in curve]
    assert r["refit"] == {"epochs_run": max(r["plan"]), "averaged_epochs": r["plan"]}
    assert spk(exp / "refit" / "data") == training
    assert all(torch.equal(a, b) for a, b in zip(_weights(exp / "best.pt").values(),
                                                 _weights(exp / "refit" / "best.pt").values()))
    assert (exp / "inner" / "curves.png").exists()
    assert load_config(exp / "config.yaml")["select"] == "inner_cv"  # the fold's config (ser.sh reads it)
    assert _run(synth_folds, synth_fbank, exp, extra) == r  # finished: a no-op
    with pytest.raises(ValueError, match="with another config"):
        _run(synth_folds, synth_fbank, exp, extra[:-1] + ["patience=3"])


def test_unknown_select_is_refused():
    with pytest.raises(ValueError, match="select 'test': use valid or inner_cv"):
        load_config(overrides=["select=test"])


def _mismatched_labels(src, out):
    """Half the speakers keep only emotions, the other half only V/A/D."""
    from sertk.data.datadir import DataDir
    d = DataDir(src).subset(DataDir(src).utts, out)
    spks = d.speakers()
    emo = {u: ("-" if d.utt2spk[u] in spks[::2] else e) for u, e in d.tables["utt2emo"].items()}
    avd = {u: ("- - -" if d.utt2spk[u] not in spks[::2] else v) for u, v in d.tables["utt2avd"].items()}
    from sertk.fileio import write_table
    write_table(out / "utt2emo", emo.items())
    write_table(out / "utt2avd", avd.items())
    return out


HIER = ["model=conformer_hier", "model_conf.pre_encoder_dim=16", "model_conf.mlp_dims=[16,8]",
        "model_conf.encoder_conf.output_size=16", "model_conf.encoder_conf.linear_units=16",
        "model_conf.encoder_conf.num_blocks=1", "model_conf.encoder_conf.attention_heads=2",
        "batch_size=8", "max_epochs=4", "select_metric=ccc", "optim_conf.lr=3e-3"]


def test_hierarchical_conformer_with_mismatched_labels(synth_folds, synth_fbank, tmp_path):
    """Train half labelled discrete, half continuous; select on valid mean CCC."""
    from sertk.data.validate import validate_datadir
    tr = _mismatched_labels(synth_folds / "fold1" / "train", tmp_path / "train")
    validate_datadir(tr, check_audio=False)  # '-' is a valid "no label" marker
    conf = load_config(overrides=HIER + ["model_conf.variant=hier_cd"])
    r = train(conf, tr, synth_folds / "fold1" / "valid", synth_fbank, tmp_path / "exp")
    hist = json.loads((tmp_path / "exp" / "history.json").read_text())
    assert set(hist[0]["valid"]) >= {"loss", "ua", "wa", "ccc", "ccc_v", "ccc_a", "ccc_d", "mae_v"}
    assert r["best_valid"] == max(h["valid"]["ccc"] for h in hist)
    assert r["valid"]["ccc"] > 0.3 and r["valid"]["ua"] > 0.4  # synthetic V/A/D follows the emotion


def test_selecting_on_a_metric_the_model_lacks_is_an_error(synth_folds, synth_fbank, tmp_path):
    conf = load_config(overrides=HIER + ["model_conf.variant=baseline_d", "max_epochs=1"])
    with pytest.raises(ValueError, match="select_metric 'ccc' is not available"):
        train(conf, synth_folds / "fold1" / "train", synth_folds / "fold1" / "valid", synth_fbank, tmp_path)


def test_param_lr_gives_parameter_groups_their_own_learning_rate(synth_folds, synth_fbank, tmp_path):
    # the MLP head frozen by a zero learning rate while the projection trains at `lr`
    exp = tmp_path / "exp"
    _run(synth_folds, synth_fbank, exp, ["max_epochs=2", "optim_conf.param_lr={head.: 0.0}"])
    last = _weights(exp / "last.pt")
    groups = torch.load(exp / "last.pt", map_location="cpu", weights_only=True)["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups] == [1.0e-3, 0.0]
    fresh = _run(synth_folds, synth_fbank, tmp_path / "zero", ["max_epochs=1", "optim_conf.lr=0.0"])
    assert fresh["epochs_run"] == 1
    start = _weights(tmp_path / "zero" / "last.pt")  # lr 0 everywhere: the initial weights (same seed)
    head = [k for k in last if k.startswith("head.")]
    assert head and all(torch.equal(last[k], start[k]) for k in head)
    assert not torch.equal(last["proj.weight"], start["proj.weight"])


def test_param_lr_prefix_must_match_a_parameter():
    lin = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="param_lr: no trainable parameter name starts with \\['encoder.'\\]"):
        trainer_mod.build_optimizer("adam", {"lr": 1e-3, "param_lr": {"encoder.": 1e-5}}, lin.named_parameters())
    opt = trainer_mod.build_optimizer("adam", {"lr": 1e-3, "param_lr": {"bias": 1e-5}}, lin.named_parameters())
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-5]


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_is_fused_by_default_and_steps_as_torchs_own(name):
    """sertk's default (fused) and `fused: false` give the same update up to rounding."""
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 3)
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
    weights = {}
    for fused in (None, False):
        lin = torch.nn.Linear(8, 3)
        lin.load_state_dict(base.state_dict())
        conf = {"lr": 1e-2} if fused is None else {"lr": 1e-2, "fused": fused}
        opt = trainer_mod.build_optimizer(name, conf, lin.named_parameters())
        assert opt.param_groups[0]["fused"] is (True if fused is None else False)
        for _ in range(5):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(lin(x), y).backward()
            opt.step()
        weights[fused] = lin.weight.detach().clone()
    assert not torch.equal(weights[None], base.weight)
    torch.testing.assert_close(weights[None], weights[False], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_averaging_never_lowers_the_valid_score(synth_folds, synth_fbank, tmp_path, seed):
    """best.pt is the N-best average only when that scores at least the best single epoch on
    valid; otherwise it is that epoch (a one-speaker valid split often prefers it)."""
    from sertk.data.dataset import FeatureDataset, LengthBatchSampler, collate
    from sertk.models.checkpoint import load_model
    from torch.utils.data import DataLoader

    exp = tmp_path / "exp"
    r = _run(synth_folds, synth_fbank, exp, ["average_best=3", f"seed={seed}", "max_epochs=8"])
    hist = json.loads((exp / "history.json").read_text())
    best_single = max(h["valid"]["ua"] for h in hist)
    model, ckpt = load_model(exp / "best.pt")
    valid = FeatureDataset(synth_folds / "fold1" / "valid", synth_fbank, ckpt["emotions"])
    loader = DataLoader(valid, collate_fn=collate, batch_sampler=LengthBatchSampler(valid.lengths, 8, shuffle=False))
    got = trainer_mod.evaluate(model, loader, "cpu")["ua"]
    assert got >= best_single - 1e-9
    assert r.get("average_rejected", False) == (r["valid_averaged"]["ua"] < best_single)


def test_union_annotated_model_parameters_take_either_type():
    """ptm_cnn's `layer: Union[int, str]`: an index or 'weighted'; plain int parameters still checked."""
    from sertk.train.config import load_config
    from tests.conftest import REPO
    conf = REPO / "egs" / "TEMPLATE" / "conf" / "train_ptm_cnn.yaml"
    assert load_config(conf, ["model_conf.layer=weighted"])["model_conf"]["layer"] == "weighted"
    assert load_config(conf, ["model_conf.layer=3"])["model_conf"]["layer"] == 3
    with pytest.raises(ValueError, match="model_conf.channels: expected an integer"):
        load_config(conf, ["model_conf.channels=abc"])
