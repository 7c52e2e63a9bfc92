"""CAMuLeNet (Goel, Hira, Gupta, "Exploring Multilingual Unseen Speaker Emotion Recognition:
Leveraging Co-Attention Cues in Multitask Learning").

Three cached feature streams, in this order: (1) frozen Whisper encoder states x_w (frames x W),
(2) a spectrogram x_s read as an image, (3) MFCCs x_m.
  x_s -> AlexNet (one input channel) -> x'_s (4096)
  x_m -> Bi-GRU (2 layers, 256 per direction) -> x'_m (frames x 512; its final states summarise it)
  co-attention (paper eq. 1-3):
    x_m_att = FC(x'_m), x_s_att = FC(x'_s)                       (1024 each)
    x_sm_att = LayerNorm(ReLU(FC([x_m_att; x_s_att])))           (one weight per Whisper frame, L)
    x_w_att = sum_t x_sm_att[t] * x_w[t]                         (W)
    e = [net(x_w_att); x_sm_att]   net: 3 x (FC, ReLU, LayerNorm, dropout); skip connection
  heads: emotion (CE) and gender (BCE); loss = alpha * CE + beta * BCE + gamma.
Whisper frames past an utterance's end get no weight (`attention: relu`, the paper's weights,
zeroed there; `softmax`, normalised over the real frames only). `fusion: concat` is the
"without co-attention" ablation: net([mean(x_w); FC(x'_s); FC(x'_m)]).
"""
import logging
from typing import Union

import torch
import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.layers import NormalizedLayerSum, length_mask
from sertk.models.losses import masked_cross_entropy
from sertk.models.registry import register_model

log = logging.getLogger(__name__)


def alexnet_encoder(weights: str = "imagenet") -> nn.Module:
    """torchvision's AlexNet up to its 4096-d penultimate layer, first conv on one channel
    (the RGB filters averaged). weights: imagenet (downloaded by torchvision; random init with
    a warning when that fails, e.g. offline), none, or a local state_dict file."""
    from torchvision.models import AlexNet_Weights, alexnet

    net = None
    if weights == "imagenet":
        try:
            net = alexnet(weights=AlexNet_Weights.IMAGENET1K_V1)
        except Exception as e:  # no network, no cache
            log.warning("AlexNet ImageNet weights unavailable (%s): random initialisation", e)
    if net is None:
        net = alexnet(weights=None)
        if weights not in ("imagenet", "none", None):
            net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    conv = net.features[0]
    one = nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
    with torch.no_grad():
        one.weight.copy_(conv.weight.mean(1, keepdim=True))
        one.bias.copy_(conv.bias)
    net.features[0] = one
    net.classifier = net.classifier[:-1]  # drop the 1000-way ImageNet layer -> 4096
    return net


def _fc_stack(in_dim, dims, dropout):
    layers, d = [], in_dim
    for h in dims:
        layers += [nn.Linear(d, h), nn.ReLU(), nn.LayerNorm(h), nn.Dropout(dropout)]
        d = h
    return nn.Sequential(*layers), d


@register_model("camulenet")
class CAMuLeNet(SERModel):
    restore_overrides = {"alexnet_weights": "none"}  # a checkpoint brings its own AlexNet weights

    def __init__(self, input_layers, input_dim, num_classes: int, whisper_layer: Union[int, str] = -1, max_frames: int = 1500,
                 att_dim: int = 1024, gru_hidden: int = 256, gru_layers: int = 2, gru_dropout: float = 0.2,
                 image_size: int = 224, alexnet_weights: str = "imagenet", attention: str = "relu",
                 fusion: str = "coattention", net_dims=(512, 256, 256), dropout: float = 0.15,
                 multitask: bool = True, alpha: float = 0.4, beta: float = 0.1, gamma: float = 0.2):
        super().__init__()
        if not isinstance(input_layers, (list, tuple)) or len(input_layers) != 3:
            raise ValueError("camulenet reads three feature streams (Whisper, spectrogram, MFCC): "
                             "give three extraction configs")
        if attention not in ("relu", "softmax"):
            raise ValueError(f"camulenet attention must be relu or softmax, not {attention!r}")
        if fusion not in ("coattention", "concat"):
            raise ValueError(f"camulenet fusion must be coattention or concat, not {fusion!r}")
        (lw, ls, lm), (dw, ds, dm) = input_layers, input_dim
        self.whisper = NormalizedLayerSum(lw, dw, whisper_layer)
        self.spec = NormalizedLayerSum(ls, ds, 0)
        self.mfcc = NormalizedLayerSum(lm, dm, 0)
        self.image_size, self.max_frames, self.attention, self.fusion = image_size, max_frames, attention, fusion
        self.alexnet = alexnet_encoder(alexnet_weights)
        self.gru = nn.GRU(dm, gru_hidden, gru_layers, batch_first=True, dropout=gru_dropout, bidirectional=True)
        self.m_att = nn.Linear(2 * gru_hidden, att_dim)
        self.s_att = nn.Linear(4096, att_dim)
        if fusion == "coattention":
            self.sm_att = nn.Linear(2 * att_dim, max_frames)
            self.sm_norm = nn.LayerNorm(max_frames)
            self.net, net_out = _fc_stack(dw, net_dims, dropout)
            emb_dim = net_out + max_frames  # skip connection: the attention weights themselves
        else:
            self.net, emb_dim = _fc_stack(dw + 2 * att_dim, net_dims, dropout)
        self.emb_dim = emb_dim
        self.emotion = nn.Linear(emb_dim, num_classes)
        self.gender = nn.Linear(emb_dim, 1) if multitask else None
        self.alpha, self.beta, self.gamma = alpha, beta, gamma

    def set_feature_stats(self, stats):
        """Training-split mean/std of each stream (global MVN, kept in the checkpoint)."""
        for module, (mean, std) in zip((self.whisper, self.spec, self.mfcc), stats):
            module.set_stats(mean, std)

    def _image(self, spec, lengths):
        """Each utterance's real spectrogram frames as a (1, F, T) image resized to a square,
        so the image does not depend on the batch's padding."""
        imgs = [nn.functional.interpolate(spec[i, : int(n)].T[None, None], size=(self.image_size,) * 2,
                                          mode="bilinear", align_corners=False)[0]
                for i, n in enumerate(lengths)]
        return torch.stack(imgs)

    def _mfcc_summary(self, mfcc, lengths):
        if bool((lengths == mfcc.shape[1]).all()):
            # no padding: the same result, and CPU backward through a packed GRU is ~4x slower
            _, h = self.gru(mfcc)
        else:
            _, h = self.gru(nn.utils.rnn.pack_padded_sequence(mfcc, lengths.cpu(), batch_first=True,
                                                              enforce_sorted=False))
        # h: (layers * 2, B, H); the last layer's two directions
        return torch.cat([h[-2], h[-1]], -1)

    def embed(self, feats, lengths):
        (fw, fs, fm), (nw, ns, nm) = feats, lengths
        x_w = self.whisper(fw)
        x_s = self.alexnet(self._image(self.spec(fs), ns))          # (B, 4096)
        x_m = self._mfcc_summary(self.mfcc(fm), nm)                  # (B, 512)
        x_m_att, x_s_att = self.m_att(x_m), self.s_att(x_s)
        mask = length_mask(nw, x_w.shape[1])
        if self.fusion == "concat":
            pooled = (x_w * mask[..., None]).sum(1) / nw[:, None].clamp_min(1)
            return self.net(torch.cat([pooled, x_s_att, x_m_att], -1))
        if x_w.shape[1] > self.max_frames:
            raise ValueError(f"{x_w.shape[1]} Whisper frames exceed max_frames {self.max_frames}")
        w = self.sm_norm(torch.relu(self.sm_att(torch.cat([x_m_att, x_s_att], -1))))  # (B, L)
        full_mask = length_mask(nw, self.max_frames)
        if self.attention == "softmax":
            w = torch.softmax(w.masked_fill(~full_mask, float("-inf")), -1)
        else:
            w = w * full_mask
        x_w_att = torch.einsum("bt,btd->bd", w[:, : x_w.shape[1]], x_w)
        return torch.cat([self.net(x_w_att), w], -1)

    def forward(self, feats, lengths):
        e = self.embed(feats, lengths)
        out = {"logits": self.emotion(e), "embedding": e}
        if self.gender is not None:
            out["gender_logits"] = self.gender(e).squeeze(-1)
        return out

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        # gamma is a constant in the paper's loss: kept for fidelity; it moves no gradient
        loss = self.alpha * masked_cross_entropy(out["logits"], batch["emo"], class_weight, label_smoothing)
        if "gender_logits" in out and "gender" in batch:
            keep = batch["gender"] >= 0
            if keep.any():
                loss = loss + self.beta * nn.functional.binary_cross_entropy_with_logits(
                    out["gender_logits"][keep], batch["gender"][keep].float())
        return loss + self.gamma
