"""Heads over pooled per-layer statistics: the linear probe (`linear`) and the default
learned head (`pooled_mlp`).

Both pool every stored upstream layer over the real frames to its mean and standard
deviation, standardise that (layers, 2*dim) matrix with training-split statistics and read
it. Pooling comes first, so training never needs the frames: sertk.train.pooled pools each
utterance once and fits on the pooled matrices in seconds, while forward(feats, lengths)
still takes frames, so `sertk infer`, packing and raw audio work as for every other model.
With `speaker_norm` (an option, off by default) each utterance's statistics are first taken
relative to its speaker's: the model then reads a data dir's speakers together
(`forward_speakers`), using every test speaker's unlabelled utterances.

Both predict what the data has: class logits (`num_classes` > 0) and/or valence, arousal,
dominance (`avd`), in the units of the training labels.
"""
import logging
from typing import Optional

import numpy as np
import torch
import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.layers import length_mask
from sertk.models.registry import register_model

log = logging.getLogger(__name__)

# the linear map's classifier (classes; V/A/D always use ridge): logistic regression with C
# chosen by inner CV, or LDA with Ledoit-Wolf shrinkage (sertk/train/shrinkage_lda.py)
SHRINKAGE_LDA = "shrinkage_lda"
LINEAR_CLASSIFIERS = ("logistic", SHRINKAGE_LDA)


def layer_stats(feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, L, T, D) frames -> (B, L, 2D): per-layer mean and std over the real frames."""
    mask = length_mask(lengths, feats.shape[2])[:, None, :, None].to(feats.dtype)
    n = mask.sum(2).clamp_min(1.0)
    mean = (feats * mask).sum(2) / n
    var = (((feats - mean[:, :, None]) ** 2) * mask).sum(2) / n
    return torch.cat([mean, var.clamp_min(1e-8).sqrt()], -1)


def pooled_stats(reader, utts) -> np.ndarray:
    """(N, L, 2D) float32 statistics of `utts` from a FeatureReader (training and `sertk infer`
    pool the same way: one utterance at a time, in the stored dtype)."""
    return np.stack([layer_stats(torch.from_numpy(reader[u])[None], torch.tensor([reader.lengths[u]]))[0].numpy()
                     for u in utts]).astype(np.float32)


ROBUST_STD_FLOOR = 0.1  # x the layer's median std: a statistic (nearly) constant in training
ROBUST_CLIP = 5.0       # |z| cap: a new condition moves a statistic by a bounded amount


def fit_scaler(Z, robust=False):
    """Mean and std of (N, L, W) pooled statistics. `robust` (True, or (floor, clip)): each std
    is floored at `floor` x its layer's median std. A corpus of equal-length clips (the 2 s
    EmoDB copy) leaves Whisper's positional-embedding statistics constant in training; plain
    z-scores then turn a clip 30 ms shorter into |z| ~ 6000 and a confident wrong label."""
    mean, std = Z.mean(0), np.maximum(Z.std(0), 1e-5)
    floor, _ = robust_params(robust)
    if floor:
        std = np.maximum(std, floor * np.median(std, axis=1, keepdims=True))
    return mean, std


def apply_scaler(Z, mean, std, robust=False):
    """(Z - mean) / std, with |z| capped at `clip` when robust (numpy or torch; clip 0: no cap)."""
    z = (Z - mean) / std
    _, clip = robust_params(robust)
    if not clip:
        return z
    return z.clamp(-clip, clip) if isinstance(z, torch.Tensor) else np.clip(z, -clip, clip)


SPEAKER_NORMS = ("none", "mean", "z")
SPEAKER_NORM_AUTO = ("none", "mean")  # what `speaker_norm: auto` chooses from, by inner cross-validation


def speaker_normalise(Z, speakers, mode="none"):
    """Pooled statistics (N, L, W) relative to their speaker: less the speaker's mean over its
    utterances (`mean`), or z-scored within the speaker (`z`; each std floored at a tenth of
    the layer's median, as the robust scaler does: a few utterances give noisy stds). Uses only
    the speaker's own (unlabelled) utterances, whichever split they are in."""
    if mode == "none":
        return Z
    if mode not in SPEAKER_NORMS:
        raise ValueError(f"speaker_norm {mode!r}: use one of {', '.join(SPEAKER_NORMS)}")
    out = np.empty_like(Z)
    speakers = np.asarray(speakers)
    small = small_speakers(speakers)
    if small:  # training and inference both come through here
        log.warning("speaker_norm %s: speaker(s) %s have fewer than 5 utterances: noisy normalisation",
                    mode, " ".join(small[:10]))
    for s in np.unique(speakers):
        idx = speakers == s
        out[idx] = Z[idx] - Z[idx].mean(0)
        if mode == "z":
            std = Z[idx].std(0)
            out[idx] /= np.maximum(std, np.maximum(ROBUST_STD_FLOOR * np.median(std, axis=1, keepdims=True), 1e-5))
    return out


def small_speakers(speakers, minimum=5):
    """Speakers with fewer than `minimum` utterances: their normalisation statistics are noisy
    (one utterance: its statistics become all zeros)."""
    names, counts = np.unique(np.asarray(speakers), return_counts=True)
    return [str(n) for n, c in zip(names, counts) if c < minimum]


def robust_params(robust):
    """False/None -> (0, 0); True -> the defaults; (floor, clip) as given."""
    if not robust:
        return 0.0, 0.0
    return (ROBUST_STD_FLOOR, ROBUST_CLIP) if robust is True else tuple(robust)


class PooledStatsModel(SERModel):
    """Common part: statistics buffers (the checkpoint carries them) and forward via pooling.
    `fits_on_pooled` tells the trainer to fit through sertk.train.pooled."""

    fits_on_pooled = True

    def __init__(self, input_layers: int, input_dim: int, num_classes: int, avd: bool = False,
                 robust_scaling: bool = False, robust_floor: float = ROBUST_STD_FLOOR,
                 robust_clip: float = ROBUST_CLIP, speaker_norm: str = "none"):
        super().__init__()
        if robust_floor < 0 or robust_clip < 0:
            raise ValueError(f"robust_floor ({robust_floor}) and robust_clip ({robust_clip}) must be >= 0 (0: off)")
        if speaker_norm not in SPEAKER_NORMS + ("auto",):
            raise ValueError(f"speaker_norm {speaker_norm!r}: use one of {', '.join(SPEAKER_NORMS)} or auto")
        # per-speaker normalisation needs all of a speaker's utterances: `sertk infer` applies
        # it to a data dir's speakers (utt2spk) before the model sees the statistics. `auto` is
        # resolved by the trainer (inner CV); a checkpoint records the chosen one.
        self.speaker_norm = speaker_norm
        self.num_classes, self.avd = num_classes, avd
        # what fit_scaler / apply_scaler get: False, or (std floor, |z| cap)
        self.robust = (float(robust_floor), float(robust_clip)) if robust_scaling else False
        self.register_buffer("stat_mean", torch.zeros(input_layers, 2 * input_dim))
        self.register_buffer("stat_std", torch.ones(input_layers, 2 * input_dim))
        self.register_buffer("avd_mean", torch.zeros(3))
        self.register_buffer("avd_std", torch.ones(3))

    def set_linear_classifier(self, name: str, c_grid, alpha_grid):
        if name not in LINEAR_CLASSIFIERS:
            raise ValueError(f"linear_classifier {name!r}: use one of {', '.join(LINEAR_CLASSIFIERS)}")
        self.linear_classifier, self.c_grid, self.alpha_grid = name, list(c_grid), list(alpha_grid)

    def linear_grid(self, head: str) -> list:
        """What the inner CV chooses among for the linear map of `head`: ridge's alpha (V/A/D),
        logistic regression's C, or one candidate for shrinkage LDA (nothing to choose)."""
        if head == "reg":
            return self.alpha_grid
        return [SHRINKAGE_LDA] if self.linear_classifier == SHRINKAGE_LDA else self.c_grid

    def set_pooled_stats(self, mean, std):
        self.stat_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.stat_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-5))

    def set_target_stats(self, mean, std):
        self.avd_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.avd_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def standardise(self, pooled):
        return apply_scaler(pooled, self.stat_mean, self.stat_std, self.robust)

    def read_pooled(self, pooled):
        """(N, L, 2D) raw pooled statistics -> outputs."""
        return self.forward_pooled(self.standardise(pooled))

    def forward(self, feats, lengths):
        if self.speaker_norm != "none":
            raise ValueError(f"this model normalises per speaker (speaker_norm: {self.speaker_norm}): it reads "
                             "a data dir's speakers together (`sertk infer --feat-dir F DATA_DIR`), not single inputs")
        return self.read_pooled(layer_stats(feats, lengths))

    def forward_speakers(self, pooled, speakers):
        """(N, L, 2D) pooled statistics of all the utterances of some speakers -> outputs."""
        return self.read_pooled(torch.as_tensor(
            speaker_normalise(np.asarray(pooled), speakers, self.speaker_norm), dtype=torch.float32))

    def candidate_layer_sets(self):
        """Layer sets a linear map may read: every single layer and all layers (`each+all`),
        or all layers only (`all`); chosen by inner cross-validation."""
        L = self.stat_mean.shape[0]
        each = [[i] for i in range(L)] if self.layer_sets == "each+all" and L > 1 else []
        return each + [list(range(L))]

    def forward_pooled(self, z) -> dict:
        raise NotImplementedError


@register_model("linear")
class LinearProbe(PooledStatsModel):
    """Standardised pooled statistics -> one linear map: multinomial logistic regression for
    classes, ridge regression for V/A/D (scikit-learn fits them; the weights live here).
    Layers left out by the selected layer set have zero weights. The grids are searched by
    inner leave-speaker-out cross-validation on the training speakers."""
    seed_free = True  # scikit-learn's deterministic solvers on fixed speaker folds (tested)

    def __init__(self, input_layers: int, input_dim: int, num_classes: int, avd: bool = False,
                 c_grid=(0.01, 0.1, 1.0), alpha_grid=(10.0, 100.0, 1000.0, 10000.0),
                 layer_sets="each+all", robust_scaling: bool = False, robust_floor: float = ROBUST_STD_FLOOR,
                 robust_clip: float = ROBUST_CLIP, speaker_norm: str = "none", linear_classifier: str = "logistic"):
        super().__init__(input_layers, input_dim, num_classes, avd, robust_scaling, robust_floor, robust_clip,
                         speaker_norm)
        self.set_linear_classifier(linear_classifier, c_grid, alpha_grid)
        self.layer_sets = layer_sets
        if layer_sets not in ("each+all", "all"):
            raise ValueError(f"layer_sets {layer_sets!r}: use 'each+all' (every single layer and all "
                             "layers are tried) or 'all'")
        width = input_layers * 2 * input_dim
        self.cls = nn.Linear(width, num_classes) if num_classes else None
        self.reg = nn.Linear(width, 3) if avd else None

    def forward_pooled(self, z):
        x, out = z.flatten(1), {}
        if self.cls is not None:
            out["logits"] = self.cls(x)
        if self.reg is not None:
            out["avd"] = self.reg(x)
        return out


class MLPMember(nn.Module):
    """One member of the ensemble: a layer reduction (learned softmax weights over layers,
    one fixed layer, or all layers concatenated), dropout, one hidden layer, an output."""

    def __init__(self, num_layers, width, out_dim, layer, hidden, dropout, input_dropout):
        super().__init__()
        self.layer = layer
        if layer == "weighted":
            self.weights = nn.Parameter(torch.zeros(num_layers))
        in_dim = num_layers * width if layer == "concat" else width
        self.net = nn.Sequential(nn.Dropout(input_dropout), nn.Linear(in_dim, hidden), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(hidden, out_dim))

    def forward(self, z):
        if self.layer == "weighted":
            x = (torch.softmax(self.weights, 0)[None, :, None] * z).sum(1)
        elif self.layer == "concat":
            x = z.flatten(1)
        else:
            x = z[:, int(self.layer)]
        return self.net(x)


@register_model("pooled_mlp")
class PooledMLP(PooledStatsModel):
    """The default frozen-upstream head: an ensemble of `ensemble` small MLPs over the
    standardised pooled statistics, each from its own seed, plus (`linear: true`) a linear
    member over all layers (logistic / ridge regression). The output is the members' averaged
    posterior (or V/A/D), the linear member weighted by `mix`. Epochs, the linear member's
    regularisation and its weight are chosen by inner leave-speaker-out cross-validation on the
    training speakers (sertk.train.pooled): the MLPs win where classes need a nonlinear
    boundary, the linear member where a few hundred utterances cannot support one."""

    def __init__(self, input_layers: int, input_dim: int, num_classes: int, avd: bool = False,
                 layer="weighted", hidden: int = 256, dropout: float = 0.5, input_dropout: float = 0.2,
                 ensemble: int = 5, linear: bool = True, c_grid=(0.01, 0.1, 1.0),
                 alpha_grid=(10.0, 100.0, 1000.0, 10000.0), linear_layer_sets="all",
                 robust_scaling: bool = False, robust_floor: float = ROBUST_STD_FLOOR,
                 robust_clip: float = ROBUST_CLIP, speaker_norm: str = "none",
                 linear_robust_floor: Optional[float] = None, linear_classifier: str = "logistic"):
        super().__init__(input_layers, input_dim, num_classes, avd, robust_scaling, robust_floor, robust_clip,
                         speaker_norm)
        # The linear member's own std floor (None: the MLPs'). A floor guards the MLPs, whose
        # units amplify a statistic that was constant in training; a linear map over capped
        # z-scores is bounded without one, and on clean clips the floor costs it accuracy
        # (docs/training.md, "How the default head was chosen").
        if linear_robust_floor is not None and linear_robust_floor < 0:
            raise ValueError(f"linear_robust_floor ({linear_robust_floor}) must be >= 0 (0: off)")
        self.robust_linear = self.robust
        if linear_robust_floor is not None and robust_scaling and linear and float(linear_robust_floor) != robust_floor:
            self.robust_linear = (float(linear_robust_floor), float(robust_clip))
            self.register_buffer("stat_std_linear", torch.ones(input_layers, 2 * input_dim))
        if linear_layer_sets not in ("each+all", "all"):
            raise ValueError(f"linear_layer_sets {linear_layer_sets!r}: use 'all' or 'each+all'")
        self.layer_sets = linear_layer_sets
        if layer not in ("weighted", "concat") and not -input_layers <= int(layer) < input_layers:
            raise ValueError(f"layer {layer!r}: use weighted, concat or a layer index < {input_layers}")
        self.set_linear_classifier(linear_classifier, c_grid, alpha_grid)
        member = lambda out: MLPMember(input_layers, 2 * input_dim, out, layer, hidden, dropout, input_dropout)  # noqa: E731
        width = input_layers * 2 * input_dim
        self.cls = nn.ModuleList(member(num_classes) for _ in range(ensemble)) if num_classes else None
        self.reg = nn.ModuleList(member(3) for _ in range(ensemble)) if avd else None
        self.cls_linear = nn.Linear(width, num_classes) if num_classes and linear else None
        self.reg_linear = nn.Linear(width, 3) if avd and linear else None
        self.register_buffer("mix", torch.zeros(2))  # weight of the linear member: classes, V/A/D

    def set_mix(self, head: str, weight: float):
        self.mix[0 if head == "cls" else 1] = weight

    @property
    def own_linear_scaling(self) -> bool:
        return self.robust_linear != self.robust

    def set_linear_std(self, std):
        """The linear member's stds (its own floor); the means are the shared ones."""
        self.stat_std_linear.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-5))

    def read_pooled(self, pooled):
        z_linear = None
        if self.own_linear_scaling:
            z_linear = apply_scaler(pooled, self.stat_mean, self.stat_std_linear, self.robust_linear)
        return self.forward_pooled(self.standardise(pooled), z_linear=z_linear)

    def forward_pooled(self, z, members=None, z_linear=None):
        """`members` (indices): only those MLPs, without the linear member (the trainer fits one
        MLP at a time, on its raw logits). `z_linear`: the linear member's input when it has its
        own scaling (read_pooled), else `z`."""
        out = {}
        z_linear = z if z_linear is None else z_linear
        if self.cls is not None:
            picked = [self.cls[i] for i in (members if members is not None else range(len(self.cls)))]
            if members is not None and len(picked) == 1:
                out["logits"] = picked[0](z)
            else:  # log of the mean posterior: its softmax is the ensemble's averaged posterior
                probs = torch.stack([torch.softmax(m(z), -1) for m in picked]).mean(0)
                if self.cls_linear is not None and members is None:
                    w = self.mix[0]
                    probs = (1 - w) * probs + w * torch.softmax(self.cls_linear(z_linear.flatten(1)), -1)
                out["logits"] = probs.clamp_min(1e-12).log()
        if self.reg is not None:
            picked = [self.reg[i] for i in (members if members is not None else range(len(self.reg)))]
            z_avd = torch.stack([m(z) for m in picked]).mean(0) * self.avd_std + self.avd_mean
            if self.reg_linear is not None and members is None:
                w = self.mix[1]
                z_avd = (1 - w) * z_avd + w * self.reg_linear(z_linear.flatten(1))
            out["avd"] = z_avd
        return out
