"""Losses that skip the examples lacking a label kind (emotion -1, V/A/D NaN), so a batch
mixing corpora with different label kinds trains each head on what it has."""
import torch
import torch.nn.functional as F


def masked_cross_entropy(logits, target, weight=None, label_smoothing: float = 0.0):
    """Mean CE over the examples with a label (target >= 0); 0 when there is none."""
    keep = target >= 0
    if not keep.any():
        return logits.sum() * 0.0  # keeps the graph (DDP needs every parameter used)
    return F.cross_entropy(logits[keep], target[keep], weight=weight, label_smoothing=label_smoothing)


def ccc_per_dim(pred, target, eps: float = 1e-8):
    """Lin's concordance correlation coefficient of each column over the batch, skipping
    NaN targets; returns (ccc, valid) with valid False where fewer than 2 labels exist."""
    cccs, valid = [], []
    for k in range(pred.shape[1]):
        keep = torch.isfinite(target[:, k])
        if keep.sum() < 2:
            cccs.append(pred.new_zeros(()))
            valid.append(False)
            continue
        x, y = pred[keep, k].float(), target[keep, k].float()
        mx, my = x.mean(), y.mean()
        cov = ((x - mx) * (y - my)).mean()
        cccs.append(2 * cov / (x.var(unbiased=False) + y.var(unbiased=False) + (mx - my) ** 2 + eps))
        valid.append(True)
    return torch.stack(cccs), torch.tensor(valid, device=pred.device)


def ccc_loss(pred, target):
    """Sum over dimensions of (1 - CCC), over the dimensions with labels in the batch."""
    c, valid = ccc_per_dim(pred, target)
    if not valid.any():
        return pred.sum() * 0.0
    return (1 - c)[valid].sum()


def attribute_class(logits):
    """Predicted class index of an auxiliary head: one binary logit per example (> 0 = class 1,
    CAMuLeNet's BCE gender head) or one logit per class (argmax)."""
    return (logits > 0).long() if logits.dim() == 1 else logits.argmax(-1)
