import pytest
import torch

from sertk.models import MODELS, build_model
from sertk.models.layers import AttentivePooling, MeanPooling, StatsPooling, length_mask


@pytest.mark.parametrize("pool", [MeanPooling, StatsPooling, AttentivePooling])
def test_pooling_ignores_padded_frames(pool):
    torch.manual_seed(0)
    p = pool(8)
    x = torch.randn(2, 10, 8)
    lengths = torch.tensor([6, 10])
    y = p(x, length_mask(lengths, 10))
    x2 = x.clone()
    x2[0, 6:] = 1e3  # garbage in the padding must not matter
    torch.testing.assert_close(p(x2, length_mask(lengths, 10)), y)
    torch.testing.assert_close(p(x[:1, :6], length_mask(lengths[:1], 6)), y[:1])


def test_baseline_registry_and_padding_invariance():
    assert "baseline" in MODELS
    m = build_model("baseline", {"pooling": "attentive"}, input_layers=3, input_dim=16, num_classes=4).eval()
    x = torch.randn(1, 3, 7, 16)
    padded = torch.cat([x, torch.randn(1, 3, 5, 16)], 2)
    a = m(x, torch.tensor([7]))["logits"]
    b = m(padded, torch.tensor([7]))["logits"]
    torch.testing.assert_close(a, b)
    assert a.shape == (1, 4)


def test_fixed_layer_and_bad_conf():
    m = build_model("baseline", {"layer": 1}, input_layers=3, input_dim=4, num_classes=2)
    assert m(torch.randn(2, 3, 5, 4), torch.tensor([5, 3]))["logits"].shape == (2, 2)
    with pytest.raises(ValueError, match="out of range"):
        build_model("baseline", {"layer": 5}, input_layers=3, input_dim=4, num_classes=2)
    with pytest.raises(ValueError, match="bad model_conf"):
        build_model("baseline", {"nonsense": 1}, input_layers=3, input_dim=4, num_classes=2)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model("nope", {}, input_layers=3, input_dim=4, num_classes=2)


def test_fused_normalised_layer_sum_matches_explicit_computation():
    from sertk.models.layers import NormalizedLayerSum

    torch.manual_seed(0)
    m = NormalizedLayerSum(3, 5)
    mean, std = torch.randn(3, 5), torch.rand(3, 5) + 0.5
    m.set_stats(mean, std)
    with torch.no_grad():
        m.weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
    x = torch.randn(2, 3, 4, 5)
    w = torch.softmax(m.weights, 0)
    explicit = sum(w[l] * (x[:, l] - mean[l]) / std[l] for l in range(3))
    torch.testing.assert_close(m(x), explicit)
    fixed = NormalizedLayerSum(3, 5, layer=-1)
    fixed.set_stats(mean, std)
    torch.testing.assert_close(fixed(x), (x[:, 2] - mean[2]) / std[2])
