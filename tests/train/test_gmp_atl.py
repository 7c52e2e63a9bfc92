"""GMP-ATL's four stages end to end on the synthetic corpus with a tiny random HuBERT of the
real architecture: A (emotion + gender), B (k-means pseudo-labels fitted on train only),
C (masked multi-scale pseudo-label prediction), D (AM-softmax, encoder from C)."""
import json

import kaldiio
import numpy as np
import pytest
import torch

from sertk.models import build_model
from sertk.models.gmp_atl import STAGES, AMSoftmax
from sertk.train.config import load_config
from sertk.train.trainer import train
from sertk.units import make_units


def _conf(hubert, stage, extra=()):
    return load_config(overrides=[
        "model=gmp_atl", f"model_conf.stage={stage}", f"model_conf.speech_encoder.name_or_path={hubert}",
        "model_conf.lstm_hidden=8", "model_conf.proj_dim=8", "model_conf.cluster_sizes=[4,8]",
        "batch_size=8", "max_epochs=2", "patience=2", "optim_conf.lr=1e-3", *extra])


def test_am_softmax_margin():
    head = AMSoftmax(4, 3, margin=0.2, scale=30.0)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 1, 0])
    logits = head(x)
    cos = torch.nn.functional.normalize(x) @ torch.nn.functional.normalize(head.weight).T
    assert torch.allclose(logits, 30 * cos, atol=1e-5)
    expected = torch.nn.functional.cross_entropy(30 * (cos - 0.2 * torch.nn.functional.one_hot(y, 3)), y)
    assert torch.allclose(head.loss(logits, y), expected, atol=1e-5)


def test_stage_c_with_whisper_learns_its_mask_embedding(tiny_whisper):
    """Whisper has no mask embedding: stage C learns one; masked frames change the output and
    the embedding gets gradient."""
    torch.manual_seed(0)
    m = build_model("gmp_atl", {"stage": "C", "cluster_sizes": [4], "mask_prob": 0.5, "mask_length": 2,
                                "speech_encoder": {"name_or_path": str(tiny_whisper), "source": "whisper"}},
                    num_classes=4).train()
    batch = {"wav": torch.randn(2, 16000), "wav_lengths": torch.tensor([16000, 12000])}
    out = m(batch)
    assert out["unit_mask"].any() and (out["lengths"] == torch.tensor([50, 38])).all()
    n = out["lengths"]
    units = [torch.randint(0, 4, (2, int(n.max()))).masked_fill(~(torch.arange(int(n.max()))[None] < n[:, None]), -1)]
    m.loss(out, {**batch, "units": units, "unit_lengths": n, "utt": ["a", "b"]}).backward()
    assert m.mask_embed.grad is not None and m.mask_embed.grad.abs().sum() > 0


def test_four_stages(synth_folds, tiny_hubert, tmp_path):
    fold = synth_folds / "fold1"
    exp = tmp_path / "exp"
    # A: emotion + gender multitask fine-tuning
    train(_conf(tiny_hubert, "A"), fold / "train", fold / "valid", None, exp / "A")
    hist = json.loads((exp / "A" / "history.json").read_text())
    assert {"ua", "gender_acc"} <= set(hist[-1]["valid"])
    # B: pseudo-labels from the stage-A encoder's third-to-last layer, k-means on train only
    info = make_units(exp / "A" / "best.pt", fold / "train", [fold / "valid"], exp / "units", clusters=[4, 8])
    assert info["layer"] == -3 and info["fit_dir"].endswith("train")
    train_utts = set((fold / "train" / "utt2spk").read_text().split()[::2])
    valid_utts = set((fold / "valid" / "utt2spk").read_text().split()[::2])
    for k in (4, 8):
        labels = dict(kaldiio.load_scp(str(exp / "units" / f"k{k}" / "units.scp")))
        assert set(labels) == train_utts | valid_utts  # the test split is never encoded
        ids = np.concatenate(list(labels.values()))
        assert ids.min() >= 0 and ids.max() < k and len(np.unique(ids)) > 1
    # C: masked prediction of the frame labels at both scales, from the stage-A encoder
    train(_conf(tiny_hubert, "C", [f"units_dir={exp / 'units'}", f"init_param=[{exp / 'A' / 'best.pt'}:speech.]",
                                   "select_metric=loss"]), fold / "train", fold / "valid", None, exp / "C")
    hist = json.loads((exp / "C" / "history.json").read_text())
    assert all(np.isfinite(h["train_loss"]) for h in hist) and "ua" not in hist[-1]["valid"]
    # D: AM-softmax emotion fine-tuning starting from the stage-C encoder
    train(_conf(tiny_hubert, "D", [f"init_param=[{exp / 'C' / 'best.pt'}:speech.]"]),
          fold / "train", fold / "valid", None, exp / "D")
    c = torch.load(exp / "C" / "best.pt", weights_only=True)["model"]
    d0 = [l for l in (exp / "D" / "train.log").read_text().splitlines() if "initialised" in l]
    assert d0 and str(len([k for k in c if k.startswith("speech.")])) in d0[0]
    assert "ua" in json.loads((exp / "D" / "history.json").read_text())[-1]["valid"]


def test_units_from_another_encoder_are_refused(synth_folds, tiny_hubert, tmp_path):
    fold = synth_folds / "fold1"
    units = tmp_path / "units" / "k4"
    units.mkdir(parents=True)
    utts = (fold / "train" / "utt2spk").read_text().split()[::2] + (fold / "valid" / "utt2spk").read_text().split()[::2]
    kaldiio.save_ark(str(units / "units.ark"), {u: np.zeros(3, dtype=np.int32) for u in utts}, scp=str(units / "units.scp"))
    with pytest.raises(ValueError, match="frame labels for .* encoder frames"):
        train(_conf(tiny_hubert, "C", [f"units_dir={tmp_path / 'units'}", "model_conf.cluster_sizes=[4]",
                                       "select_metric=loss"]), fold / "train", fold / "valid", None, tmp_path / "C")


def test_stage_c_masks_spans_of_real_frames_only(tiny_hubert):
    torch.manual_seed(0)
    m = build_model("gmp_atl", {"stage": "C", "cluster_sizes": [4], "mask_prob": 0.5, "mask_length": 3,
                                "speech_encoder": {"name_or_path": str(tiny_hubert)}}, num_classes=4)
    batch = {"wav": torch.randn(2, 16000), "wav_lengths": torch.tensor([16000, 8000])}
    m.train()
    out = m(batch)
    mask, lens = out["unit_mask"], out["lengths"]
    assert mask[0].any() and not mask[0].all() and not mask[1, lens[1]:].any()
    m.eval()
    assert m(batch)["unit_mask"].sum() == lens.sum()  # evaluation scores every real frame


def test_stages_from_the_cache_of_the_frozen_part(synth_folds, tiny_hubert, tmp_path):
    """train_top_layers (what a CPU affords): A, B, C and D train only the top layer, stage C
    masking the frames at its input; a clustered layer below the trained ones is refused."""
    fold, exp = synth_folds / "fold1", tmp_path / "exp"
    top = ["model_conf.speech_encoder.train_top_layers=1", "max_epochs=1"]
    train(_conf(tiny_hubert, "A", top), fold / "train", fold / "valid", None, exp / "A")
    with pytest.raises(ValueError, match="layer -3 lies below the speech encoder's trained layers"):
        make_units(exp / "A" / "best.pt", fold / "train", [fold / "valid"], exp / "units3", clusters=[4, 8])
    with pytest.raises(ValueError, match=r"layer 5: the speech encoder has 5 hidden states .*-5 to 4"):
        make_units(exp / "A" / "best.pt", fold / "train", [fold / "valid"], exp / "units5", clusters=[4, 8], layer=5)
    make_units(exp / "A" / "best.pt", fold / "train", [fold / "valid"], exp / "units", clusters=[4, 8], layer=-1)
    train(_conf(tiny_hubert, "C", top + [f"units_dir={exp / 'units'}", f"init_param=[{exp / 'A' / 'best.pt'}:speech.]",
                                         "select_metric=loss"]), fold / "train", fold / "valid", None, exp / "C")
    a = torch.load(exp / "A" / "best.pt", weights_only=True)["model"]
    c = torch.load(exp / "C" / "best.pt", weights_only=True)["model"]
    moved = {k for k in c if k.startswith("speech.") and k in a and not torch.equal(a[k], c[k])}
    assert "mask_embed" in c and moved and all(".layers.3." in k for k in moved)  # the top of 4 layers
    train(_conf(tiny_hubert, "D", top + [f"init_param=[{exp / 'C' / 'best.pt'}:speech.]"]),
          fold / "train", fold / "valid", None, exp / "D")
    assert "ua" in json.loads((exp / "D" / "history.json").read_text())[-1]["valid"]


def test_weighted_layers_feed_the_bilstm(tiny_whisper):
    """speech_layers=weighted (stages A and D): the Bi-LSTM reads a learned mix of every layer,
    the frozen ones from the cache; the same weights with `last` give another output, and stage
    C, which predicts from the last layer, has no mix. A misspelt value is refused in every stage."""
    enc = {"name_or_path": str(tiny_whisper), "source": "whisper", "train_top_layers": 1}
    conf = {"lstm_hidden": 8, "proj_dim": 8, "speech_encoder": enc}
    torch.manual_seed(0)
    mixed = build_model("gmp_atl", {**conf, "stage": "A", "speech_layers": "weighted"}, num_classes=4).train()
    assert mixed.speech.cache_all_layers and mixed.speech_mix.layer_weights().shape == (3,)
    batch = {"wav": torch.randn(2, 16000) * 0.1, "wav_lengths": torch.tensor([16000, 12000]),
             "emo": torch.tensor([0, 3]), "gender": torch.tensor([0, 1]), "utt": ["a", "b"]}
    mixed.loss(mixed(batch), batch).backward()
    assert mixed.speech_mix.weights.grad.abs().sum() > 0
    assert mixed.speech.model.layers[-1].fc1.weight.grad is not None
    assert mixed.speech.model.layers[0].fc1.weight.grad is None  # frozen, read from the cache
    last = build_model("gmp_atl", {**conf, "stage": "A"}, num_classes=4).eval()
    assert last.speech_mix is None
    last.load_state_dict({k: v for k, v in mixed.state_dict().items() if not k.startswith("speech_mix.")})
    with torch.no_grad():
        assert not torch.allclose(mixed.eval()(batch)["logits"], last(batch)["logits"])
    c = build_model("gmp_atl", {**conf, "stage": "C", "cluster_sizes": [4], "speech_layers": "weighted"}, num_classes=4)
    assert not hasattr(c, "speech_mix") and not c.speech.cache_all_layers
    for stage in STAGES:
        with pytest.raises(ValueError, match="gmp_atl speech_layers must be one of"):
            build_model("gmp_atl", {**conf, "stage": stage, "speech_layers": "mixed"}, num_classes=4)
