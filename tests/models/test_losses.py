import math

import numpy as np
import torch

from sertk.models.losses import ccc_loss, ccc_per_dim, masked_cross_entropy
from sertk.score.metrics import ccc


def test_masked_cross_entropy_ignores_missing_labels():
    logits = torch.randn(4, 3, requires_grad=True)
    target = torch.tensor([0, -1, 2, -1])
    full = torch.nn.functional.cross_entropy(logits[[0, 2]], target[[0, 2]])
    assert torch.allclose(masked_cross_entropy(logits, target), full)
    none = masked_cross_entropy(logits, torch.full((4,), -1))
    assert float(none.detach()) == 0.0 and none.requires_grad  # still part of the graph


def test_ccc_matches_the_metric_and_skips_nan():
    rng = np.random.default_rng(0)
    pred, ref = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    ref[pred[:, 0] > 0, 1] = np.nan  # dimension A lacks half its labels
    ref[:, 2] = np.nan               # dimension D has none
    c, valid = ccc_per_dim(torch.tensor(pred), torch.tensor(ref))
    assert valid.tolist() == [True, True, False]
    keep = ~np.isnan(ref[:, 1])
    assert math.isclose(float(c[0]), ccc(pred[:, 0], ref[:, 0]), rel_tol=1e-6)
    assert math.isclose(float(c[1]), ccc(pred[keep, 1], ref[keep, 1]), rel_tol=1e-6)
    # loss sums 1 - CCC over the dimensions that have labels
    assert math.isclose(float(ccc_loss(torch.tensor(pred), torch.tensor(ref))), 2 - float(c[0]) - float(c[1]),
                        rel_tol=1e-6)


def test_ccc_loss_is_zero_for_a_perfect_prediction():
    y = torch.randn(20, 3)
    assert float(ccc_loss(y.clone(), y)) < 1e-6
    assert float(ccc_loss(y * 0.5, y)) > 0.05  # right correlation, wrong scale: CCC < 1
