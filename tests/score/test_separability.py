import numpy as np
import pytest

from sertk.score.separability import pairwise_fisher_ratio


def test_fisher_ratio_by_hand():
    emb = {"a1": [0.0, 1.0], "a2": [2.0, 1.0], "b1": [4.0, 1.0], "b2": [6.0, 3.0], "c1": [0.0, 0.0],
           "c2": [2.0, 0.0], "x": [9.0, 9.0]}
    labels = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "c1": "c", "c2": "c", "x": "-"}
    r = pairwise_fisher_ratio(emb, labels)
    # dim 0: a,c mean 1 var 1; b mean 5 var 1. dim 1: a mean 1 var 0; b mean 2 var 1; c mean 0 var 0
    ab = ((1 - 5) ** 2 / 2 + (1 - 2) ** 2 / 1) / 2
    ac = (0 / 2 + 1 / 1e-8) / 2  # identical spread-free dimension: eps keeps it finite
    bc = ((5 - 1) ** 2 / 2 + (2 - 0) ** 2 / 1) / 2
    assert r["pairs"]["a|b"] == pytest.approx(ab) and r["pairs"]["b|c"] == pytest.approx(bc)
    assert r["pairs"]["a|c"] == pytest.approx(ac, rel=1e-6)
    assert r["mean"] == pytest.approx((ab + ac + bc) / 3, rel=1e-6)
    assert r["counts"] == {"a": 2, "b": 2, "c": 2}  # the unlabelled utterance is left out


def test_more_spread_means_less_separable():
    rng = np.random.default_rng(0)
    def ratio(spread):
        emb = {f"{c}{i}": rng.normal(3.0 * k, spread, 4) for k, c in enumerate("ab") for i in range(50)}
        return pairwise_fisher_ratio(emb, {u: u[0] for u in emb})["mean"]
    assert ratio(0.5) > ratio(2.0)


def test_needs_two_classes():
    with pytest.raises(ValueError, match="2 classes"):
        pairwise_fisher_ratio({"a1": [0.0], "a2": [1.0]}, {"a1": "a", "a2": "a"})
