import pytest
import torch

from sertk.models import build_model
from sertk.models.conformer_hier import VARIANTS

SMALL = {"encoder_conf": {"output_size": 16, "linear_units": 16, "num_blocks": 2, "attention_heads": 2},
         "pre_encoder_dim": 12, "mlp_dims": [16, 8]}


def _model(variant, **kw):
    return build_model("conformer_hier", {"variant": variant, **SMALL, **kw}, input_layers=3, input_dim=10,
                       num_classes=4)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(4, 3, 30, 10, generator=g)
    lengths = torch.tensor([30, 24, 17, 9])
    labels = {"emo": torch.tensor([0, 1, -1, 3]),
              "avd": torch.tensor([[1., 2, 3], [2, 4, 1], [float("nan")] * 3, [3, 1, 2]])}
    return feats, lengths, labels


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_output_what_they_are_trained_on(variant):
    m = _model(variant)
    feats, lengths, labels = _batch()
    out = m(feats, lengths)
    assert ("logits" in out) == (variant != "baseline_c")
    assert ("avd" in out) == (variant != "baseline_d")
    loss = m.loss(out, {"feats": feats, "lengths": lengths, **labels})
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None for n, p in m.named_parameters() if n.startswith(("encoder", "pre_encoder")))


def test_hierarchical_wiring():
    """hier_cd: the CE loss reaches the continuous branch; mtl: it does not."""
    feats, lengths, labels = _batch()
    for variant, reaches in (("hier_cd", True), ("mtl", False)):
        m = _model(variant)
        m.loss(m(feats, lengths), {"emo": labels["emo"]}).backward()
        g = m.branch_c[0].mlp[0].weight.grad
        assert (g is not None and g.abs().sum() > 0) == reaches, variant
    m = _model("hier_dc")
    m.loss(m(feats, lengths), {"avd": labels["avd"]}).backward()
    assert m.branch_d.mlp[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("pooling", ["per_dim", "shared"])
def test_padding_does_not_change_predictions(pooling):
    """Padded frames get no weight anywhere (attention, conv modules, pooling)."""
    m = _model("mtl", continuous_pooling=pooling).eval()
    feats, lengths, _ = _batch()
    noisy = feats.clone()
    for i, n in enumerate(lengths):
        noisy[i, :, n:] = 50.0
    a, b = m(feats, lengths), m(noisy, lengths)
    single = m(feats[3:4, :, :9], lengths[3:4])
    for k in ("logits", "avd"):
        assert torch.allclose(a[k], b[k], atol=1e-5)
        assert torch.allclose(a[k][3], single[k][0], atol=1e-4)


def test_continuous_outputs_use_the_training_scale():
    m = _model("baseline_c").eval()
    feats, lengths, _ = _batch()
    z = m(feats, lengths)["avd_z"]
    m.set_target_stats([3.0, 3.0, 3.0], [2.0, 1.0, 0.5])
    assert torch.allclose(m(feats, lengths)["avd"], z * torch.tensor([2.0, 1.0, 0.5]) + 3.0, atol=1e-6)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="variant"):
        _model("hier_xx")
    with pytest.raises(ValueError, match="inventory"):
        build_model("conformer_hier", {"variant": "mtl", **SMALL}, input_layers=3, input_dim=10, num_classes=0)
