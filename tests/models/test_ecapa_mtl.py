import numpy as np
import pytest
import torch
from espnet2.spk.encoder.ecapa_tdnn_encoder import EcapaTdnnEncoder

from sertk.data.dataset import collate
from sertk.models import build_model

TINY = dict(channels=16, model_scale=4, aggregation_dim=48, embed_dim=8)


def _batch(lengths, seed=0):
    rng = np.random.default_rng(seed)
    items = [{"utt": f"u{i}", "emo": i % 3, "style": i % 2,
              "feats": rng.standard_normal((2, n, 5)).astype(np.float32)} for i, n in enumerate(lengths)]
    return collate(items)


def _model(**kw):
    torch.manual_seed(0)
    return build_model("ecapa_mtl", {**TINY, **kw}, input_layers=2, input_dim=5, num_classes=3)


def test_uses_espnet_ecapa_and_aam_softmax():
    m = _model()
    assert isinstance(m.encoder, EcapaTdnnEncoder)
    assert type(m.aam).__module__ == "espnet2.spk.loss.aamsoftmax"
    out = m(*[_batch([30, 22, 41])[k] for k in ("feats", "lengths")])
    assert out["embedding"].shape == (3, 8) and out["logits"].shape == (3, 3)
    assert out["style_logits"].shape == (3, 2)
    # posteriors come from scaled cosines: bounded by the AAM scale
    assert out["logits"].abs().max() <= m.aam.s + 1e-4


def test_multitask_loss_follows_alpha_schedule():
    batch = _batch([30, 22, 41, 25])
    m = _model(alpha=0.1, alpha_step=0.05, alpha_max=0.3)
    alphas = []
    for epoch in (1, 2, 3, 10):
        m.set_epoch(epoch)
        alphas.append(m.alpha)
    assert alphas == pytest.approx([0.1, 0.15, 0.2, 0.3])  # capped: emotion keeps 70 %
    m.eval()
    out = m(batch["feats"], batch["lengths"])
    emo = m.aam(out["embedding"], batch["emo"])
    emo = emo[0] if isinstance(emo, tuple) else emo
    exp = torch.nn.functional.cross_entropy(out["style_logits"], batch["style"])
    assert torch.allclose(m.loss(out, batch), 0.7 * emo + 0.3 * exp)
    # utterances without a style label: the emotion term alone
    unlabelled = dict(batch, style=torch.full_like(batch["style"], -1))
    assert torch.allclose(m.loss(out, unlabelled), emo)


def test_without_mtl_has_no_expression_head():
    m = _model(multitask=False)
    m.set_epoch(30)
    out = m(*[_batch([20, 20])[k] for k in ("feats", "lengths")])
    assert "style_logits" not in out and m.alpha == 0.0
    assert not any("expression" in n for n, _ in m.named_parameters())


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        _model(alpha=0.6, alpha_max=0.5)


def test_encoder_none_pools_the_layer_mix_without_the_trunk():
    """The trunk ablation: attentive statistics pooling straight on the upstream's layer mix,
    masked past each utterance's end like the full model."""
    m = _model(encoder="none", multitask=False)
    assert not any(n.startswith("encoder.") for n, _ in m.named_parameters())
    batch = _batch([30, 22])
    m.eval()
    out = m(batch["feats"], batch["lengths"])
    assert out["embedding"].shape == (2, 8)
    longer = torch.cat([batch["feats"], torch.randn_like(batch["feats"])], dim=2)  # more padding
    assert torch.allclose(m(longer, batch["lengths"])["embedding"], out["embedding"], atol=1e-5)
    with pytest.raises(ValueError, match="encoder must be ecapa or none"):
        _model(encoder="tdnn")
