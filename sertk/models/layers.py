"""Building blocks shared by models: masks, normalisation, layer weighting, pooling."""
import torch
import torch.nn as nn


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, T) bool, True on real frames."""
    return torch.arange(max_len, device=lengths.device)[None] < lengths[:, None]


class NormalizedLayerSum(nn.Module):
    """Per-layer, per-dim mean/variance normalisation with training-set statistics (ESPnet's
    GlobalMVN idea), then a SUPERB-style softmax-weighted sum of layers or one fixed layer.

    Normalising and weighting are fused into one contraction over (layer, dim), which is
    what makes training on cached multi-layer features cheap. The statistics are buffers,
    so checkpoints carry them.
    """

    def __init__(self, num_layers: int, dim: int, layer="weighted"):
        super().__init__()
        self.layer = layer
        self.register_buffer("mean", torch.zeros(num_layers, dim))
        self.register_buffer("std", torch.ones(num_layers, dim))
        if layer == "weighted":
            self.weights = nn.Parameter(torch.zeros(num_layers))
        elif not -num_layers <= int(layer) < num_layers:
            raise ValueError(f"layer {layer} out of range for {num_layers} stored layers")

    def set_stats(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean))
        self.std.copy_(torch.as_tensor(std).clamp_min(1e-5))

    def layer_weights(self) -> torch.Tensor:
        if self.layer == "weighted":
            return torch.softmax(self.weights, 0)
        w = torch.zeros(self.mean.shape[0], device=self.mean.device)
        w[int(self.layer)] = 1.0
        return w

    def forward(self, x):  # (B, L, T, D) -> (B, T, D)
        if self.layer != "weighted":
            i = int(self.layer)
            return (x[:, i] - self.mean[i]) / self.std[i]
        scale = self.layer_weights()[:, None] / self.std          # (L, D)
        # a sum over layers of broadcast products: ~15x faster than einsum on CPU here
        return sum(x[:, i] * scale[i] for i in range(x.shape[1])) - (scale * self.mean).sum(0)


class MeanPooling(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.out_dim = dim

    def forward(self, x, mask):
        m = mask.unsqueeze(-1).to(x.dtype)
        return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


class StatsPooling(nn.Module):
    """Mean and standard deviation over real frames."""

    def __init__(self, dim):
        super().__init__()
        self.out_dim = 2 * dim

    def forward(self, x, mask):
        m = mask.unsqueeze(-1).to(x.dtype)
        n = m.sum(1).clamp_min(1.0)
        mean = (x * m).sum(1) / n
        var = (((x - mean[:, None]) ** 2) * m).sum(1) / n
        return torch.cat([mean, var.clamp_min(1e-8).sqrt()], -1)


class AttentivePooling(nn.Module):
    """Self-attentive pooling; padded frames get exactly zero weight."""

    def __init__(self, dim, hidden: int = 128):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.out_dim = dim

    def forward(self, x, mask):
        s = self.score(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        w = torch.softmax(s, dim=1)
        return torch.einsum("bt,btd->bd", w, x)


class MaxPooling(nn.Module):
    """Maximum over real frames, per dimension."""

    def __init__(self, dim):
        super().__init__()
        self.out_dim = dim

    def forward(self, x, mask):
        return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


POOLINGS = {"mean": MeanPooling, "max": MaxPooling, "stats": StatsPooling, "attentive": AttentivePooling}


def build_pooling(kind: str, dim: int):
    if kind not in POOLINGS:
        raise ValueError(f"unknown pooling {kind!r}; use one of {sorted(POOLINGS)}")
    return POOLINGS[kind](dim)


ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


def feedforward(in_dim: int, dims, dropout: float, activation: str = "relu") -> nn.Sequential:
    """Linear -> activation -> dropout for each size in dims (an embedding network)."""
    layers, d = [], in_dim
    for h in dims:
        layers += [nn.Linear(d, h), ACTIVATIONS[activation](), nn.Dropout(dropout)]
        d = h
    return nn.Sequential(*layers)


def mlp(in_dim: int, hidden_dims, out_dim: int, dropout: float, activation: str = "relu") -> nn.Sequential:
    """feedforward() then a linear output layer."""
    hidden = list(hidden_dims)
    return nn.Sequential(*feedforward(in_dim, hidden, dropout, activation),
                         nn.Linear(hidden[-1] if hidden else in_dim, out_dim))
