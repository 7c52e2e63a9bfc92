import numpy as np
import pytest
import torch

from sertk.data.dataset import collate
from sertk.models import build_model


def _items(lengths, rng):
    """Three streams per utterance: 'Whisper' (2 layers x 8, 50 fps), spectrogram (1 x 21,
    100 fps), MFCC (1 x 5, 100 fps)."""
    items = []
    for i, n in enumerate(lengths):
        items.append({"utt": f"u{i}", "emo": i % 3, "gender": i % 2,
                      "feats": (rng.standard_normal((2, n, 8)).astype(np.float32),
                                rng.standard_normal((1, 2 * n, 21)).astype(np.float32),
                                rng.standard_normal((1, 2 * n, 5)).astype(np.float32))})
    return items


def _model(**kw):
    conf = dict(max_frames=40, att_dim=16, gru_hidden=8, image_size=64, alexnet_weights="none",
                net_dims=[16, 16, 16])
    conf.update(kw)
    torch.manual_seed(0)
    return build_model("camulenet", conf, input_layers=[2, 1, 1], input_dim=[8, 21, 5], num_classes=3).eval()


@pytest.mark.parametrize("attention", ["relu", "softmax"])
def test_padding_gets_no_weight(attention):
    """An utterance batched with a longer one gets the same embedding as alone: padded
    Whisper frames have zero attention weight, the image and the GRU see real frames only."""
    items = _items([12, 30], np.random.default_rng(0))
    m = _model(attention=attention)
    with torch.no_grad():
        alone = m(*[collate(items[:1])[k] for k in ("feats", "lengths")])
        both = m(*[collate(items)[k] for k in ("feats", "lengths")])
    assert torch.allclose(alone["embedding"][0], both["embedding"][0], atol=1e-5)
    w = both["embedding"][0, -40:]  # the skip-connected attention weights
    assert (w[12:] == 0).all() and (w[:12] != 0).any()
    if attention == "softmax":
        assert torch.isclose(w.sum(), torch.tensor(1.0))


def test_multitask_loss_and_ablations():
    items = _items([10, 14, 9, 20], np.random.default_rng(1))
    batch = collate(items)
    m = _model().train()
    out = m(batch["feats"], batch["lengths"])
    ce = torch.nn.functional.cross_entropy(out["logits"], batch["emo"])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out["gender_logits"], batch["gender"].float())
    assert torch.allclose(m.loss(out, batch), 0.4 * ce + 0.1 * bce + 0.2)
    no_mtl = _model(multitask=False)
    assert "gender_logits" not in no_mtl(batch["feats"], batch["lengths"])
    concat = _model(fusion="concat", multitask=False)
    assert concat(batch["feats"], batch["lengths"])["logits"].shape == (4, 3)
    assert not hasattr(concat, "sm_att")


def test_loading_a_checkpoint_fetches_no_alexnet_weights(tmp_path, monkeypatch):
    """A checkpoint configured with ImageNet AlexNet rebuilds without the download (its own
    weights replace them), and gives the saved model's outputs."""
    from sertk.models import camulenet
    from sertk.models.checkpoint import load_model, save_model

    m = _model()
    io = {"input_layers": [2, 1, 1], "input_dim": [8, 21, 5], "num_classes": 3}
    conf = {"model": "camulenet", "model_conf": {**dict(max_frames=40, att_dim=16, gru_hidden=8, image_size=64,
                                                        net_dims=[16, 16, 16]), "alexnet_weights": "imagenet"}}
    save_model(tmp_path / "m.pt", m, conf, ["a", "b", "c"], {}, {}, io=io)
    asked, build = [], camulenet.alexnet_encoder
    monkeypatch.setattr(camulenet, "alexnet_encoder", lambda weights: asked.append(weights) or build(weights))
    loaded, _ = load_model(tmp_path / "m.pt")
    assert asked == ["none"]
    batch = collate(_items([10, 14], np.random.default_rng(2)))
    with torch.no_grad():
        assert torch.allclose(loaded(batch["feats"], batch["lengths"])["logits"],
                              m(batch["feats"], batch["lengths"])["logits"], atol=1e-6)


def test_camulenet_needs_three_streams():
    with pytest.raises(ValueError, match="three feature streams"):
        build_model("camulenet", {}, input_layers=7, input_dim=512, num_classes=3)


def test_ptm_cnn_reads_the_time_average():
    torch.manual_seed(0)
    m = build_model("ptm_cnn", {"channels": 4, "hidden_dim": 8}, input_layers=3, input_dim=16, num_classes=5).eval()
    x = torch.randn(2, 3, 20, 16)
    out = m(x, torch.tensor([20, 11]))
    x2 = x.clone()
    x2[1, :, 11:] = 99.0  # padding content must not matter
    assert torch.allclose(out["logits"], m(x2, torch.tensor([20, 11]))["logits"])
    assert out["logits"].shape == (2, 5)


def test_learned_whisper_layer_mix():
    """`whisper_layer: weighted` (a learned softmax mix of the stored layers, as the default head
    and ptm_cnn use it) passes the config's type check and its layer weights are trained."""
    from sertk.train.config import load_config

    conf = load_config(overrides=["model=camulenet", "model_conf.whisper_layer=weighted"])
    assert conf["model_conf"]["whisper_layer"] == "weighted"
    items = _items([10, 14, 9], np.random.default_rng(2))
    batch = collate(items)
    m = _model(whisper_layer="weighted").train()
    m.loss(m(batch["feats"], batch["lengths"]), batch).backward()
    assert m.whisper.weights.grad is not None and m.whisper.weights.grad.abs().sum() > 0
