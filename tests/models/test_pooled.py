"""Heads over pooled statistics: the frame path (inference) equals the pooled path (training)."""
import pytest
import numpy as np
import torch

from sertk.models import build_model
from sertk.models.layers import StatsPooling, length_mask
from sertk.models.pooled import layer_stats


def _batch(B=3, L=4, T=9, D=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(B, L, T, D, generator=g)
    lengths = torch.tensor([9, 5, 2])
    feats[1, :, 5:] = 100.0  # padding must not leak into the statistics
    feats[2, :, 2:] = -7.0
    return feats, lengths


def test_layer_stats_are_stats_pooling_per_layer():
    feats, lengths = _batch()
    got = layer_stats(feats, lengths)
    pool = StatsPooling(5)
    for layer in range(4):
        ref = pool(feats[:, layer], length_mask(lengths, feats.shape[2]))
        assert torch.allclose(got[:, layer], ref, atol=1e-6)


def test_forward_on_frames_equals_forward_on_pooled_statistics():
    feats, lengths = _batch()
    for name, conf in (("linear", {}), ("pooled_mlp", {"ensemble": 3, "hidden": 8})):
        model = build_model(name, conf, input_layers=4, input_dim=5, num_classes=3, avd=True).eval()
        model.set_pooled_stats(np.random.rand(4, 10), np.random.rand(4, 10) + 0.5)
        model.set_target_stats([1.0, 2.0, 3.0], [0.5, 0.5, 2.0])
        with torch.no_grad():
            a = model(feats, lengths)
            b = model.forward_pooled(model.standardise(layer_stats(feats, lengths)))
            alone = model(feats[1:2, :, :5], lengths[1:2])  # without the batch's padding
        assert set(a) >= {"logits", "avd"}
        for k in a:
            assert torch.allclose(a[k], b[k], atol=1e-6), (name, k)
            assert torch.allclose(a[k][1:2], alone[k], atol=1e-5), (name, k)


def test_ensemble_posterior_is_the_mean_of_member_posteriors():
    model = build_model("pooled_mlp", {"ensemble": 4, "hidden": 8}, input_layers=2, input_dim=3,
                        num_classes=5).eval()
    z = torch.randn(6, 2, 6)
    with torch.no_grad():
        members = torch.stack([torch.softmax(m(z), -1) for m in model.cls]).mean(0)
        assert torch.allclose(torch.softmax(model.forward_pooled(z)["logits"], -1), members, atol=1e-6)
        single = model.forward_pooled(z, members=[2])["logits"]
        assert torch.allclose(single, model.cls[2](z))


def test_robust_scaling_bounds_a_statistic_constant_in_training():
    """A statistic that never moved in training (Whisper's positions on equal-length clips) must
    not turn a small change at test time into a huge z-score."""
    from sertk.models.pooled import ROBUST_CLIP, apply_scaler, fit_scaler
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((50, 2, 6)).astype(np.float32)
    Z[:, 0, 0] = 0.3  # constant in training
    x = Z[:1].copy()
    x[0, 0, 0] += 0.05  # a clip of another length
    plain = apply_scaler(x, *fit_scaler(Z), False)
    robust = apply_scaler(x, *fit_scaler(Z, True), True)
    assert abs(plain[0, 0, 0]) > 1000
    assert abs(robust[0, 0, 0]) <= ROBUST_CLIP
    np.testing.assert_allclose(robust[0, 1], plain[0, 1], rtol=1e-5)  # ordinary statistics unchanged
    model = build_model("pooled_mlp", {"ensemble": 1, "robust_scaling": True}, input_layers=2, input_dim=3,
                        num_classes=2)
    model.set_pooled_stats(*fit_scaler(Z, True))
    np.testing.assert_allclose(model.standardise(torch.from_numpy(x)).numpy(), robust, atol=1e-6)


def test_robust_scaling_parts_can_be_turned_off():
    """robust_floor 0: plain stds, |z| still capped; robust_clip 0: floored stds, no cap."""
    from sertk.models.pooled import apply_scaler, fit_scaler
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((40, 2, 4)).astype(np.float32)
    Z[:, 0, 0] = 0.3
    x = Z[:1].copy()
    x[0, 0, 0] += 1.0
    plain_mean, plain_std = fit_scaler(Z)
    mean, std = fit_scaler(Z, (0.0, 5.0))
    np.testing.assert_array_equal(std, plain_std)
    assert abs(apply_scaler(x, mean, std, (0.0, 5.0))[0, 0, 0]) == 5.0
    mean, std = fit_scaler(Z, (0.1, 0.0))
    assert std[0, 0] > plain_std[0, 0] and 5 < abs(apply_scaler(x, mean, std, (0.1, 0.0))[0, 0, 0]) < 1000
    model = build_model("pooled_mlp", {"ensemble": 1, "robust_scaling": True, "robust_floor": 0.0}, input_layers=2,
                        input_dim=2, num_classes=2)
    assert model.robust == (0.0, 5.0)
    with pytest.raises(ValueError, match="must be >= 0"):
        build_model("linear", {"robust_scaling": True, "robust_clip": -1.0}, input_layers=2, input_dim=2, num_classes=2)


def test_linear_member_with_its_own_floor_reads_its_own_z_scores():
    """linear_robust_floor: the MLPs read floored stds, the linear member its own (here none,
    |z| still capped); frames and pooled statistics agree, and a checkpoint keeps both."""
    from sertk.models.pooled import apply_scaler, fit_scaler
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((30, 2, 6)).astype(np.float32)
    Z[:, 0, 0] = 0.3 + 1e-3 * rng.standard_normal(30).astype(np.float32)  # nearly constant in training
    conf = {"ensemble": 2, "hidden": 8, "robust_scaling": True, "linear_robust_floor": 0.0}
    model = build_model("pooled_mlp", conf, input_layers=2, input_dim=3, num_classes=3).eval()
    assert model.robust == (0.1, 5.0) and model.robust_linear == (0.0, 5.0)
    model.set_pooled_stats(*fit_scaler(Z, model.robust))
    model.set_linear_std(fit_scaler(Z, model.robust_linear)[1])
    model.set_mix("cls", 1.0)  # the linear member alone
    x = torch.from_numpy(Z[:4])
    z_lin = apply_scaler(x, *fit_scaler(Z, (0.0, 5.0)), (0.0, 5.0))
    assert not torch.allclose(z_lin, model.standardise(x))  # the floor changes the first statistic
    with torch.no_grad():
        want = torch.log_softmax(model.cls_linear(z_lin.flatten(1)), -1)
        assert torch.allclose(model.read_pooled(x)["logits"], want, atol=1e-5)
        feats = torch.randn(2, 2, 7, 3)
        lengths = torch.tensor([7, 4])
        assert torch.allclose(model(feats, lengths)["logits"], model.read_pooled(layer_stats(feats, lengths))["logits"])
    again = build_model("pooled_mlp", conf, input_layers=2, input_dim=3, num_classes=3).eval()
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(again.read_pooled(x)["logits"], model.read_pooled(x)["logits"])
    # the same floor as the MLPs' (or no robust scaling): one scaler, no extra buffer
    same = build_model("pooled_mlp", {**conf, "linear_robust_floor": 0.1}, input_layers=2, input_dim=3, num_classes=3)
    assert not same.own_linear_scaling and "stat_std_linear" not in same.state_dict()
    with pytest.raises(ValueError, match="linear_robust_floor"):  # refused even where it would not apply
        build_model("pooled_mlp", {"linear_robust_floor": -0.1}, input_layers=2, input_dim=3, num_classes=3)
