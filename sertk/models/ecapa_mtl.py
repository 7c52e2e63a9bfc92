"""Expression-aware multi-task ECAPA-TDNN (Kumawat, Routray): ESPnet's speaker-recognition
ECAPA-TDNN on frame features, channel-attentive statistics pooling and a 192-d embedding,
shared by an emotion head trained with additive angular margin softmax and an
acted-vs-spontaneous expression head (FC + softmax).

loss = (1 - alpha) * L_emo + alpha * L_exp, alpha growing per epoch from `alpha` by
`alpha_step` up to `alpha_max` (so the emotion term never vanishes); `multitask: false` is the
paper's "w/o MTL" row (no expression head, alpha 0). `encoder: none` is an ablation of ours:
the same pooling, embedding and AAM head straight on the upstream's layer mix, without the
frame-level ECAPA-TDNN trunk (what the trunk, trained from scratch, adds or costs).
"""
import torch.nn as nn
import torch.nn.functional as F

from sertk.models.base import SERModel
from sertk.models.layers import NormalizedLayerSum
from sertk.models.losses import masked_cross_entropy
from sertk.models.registry import register_model


class Transpose(nn.Module):
    def forward(self, x):
        return x.transpose(1, 2)


@register_model("ecapa_mtl")
class EcapaMTL(SERModel):
    def __init__(self, input_layers: int, input_dim: int, num_classes: int, layer="weighted",
                 channels: int = 512, model_scale: int = 8, aggregation_dim: int = 1536,
                 embed_dim: int = 192, aam_margin: float = 0.2, aam_scale: float = 30.0,
                 multitask: bool = True, alpha: float = 0.1, alpha_step: float = 0.05,
                 alpha_max: float = 0.5, encoder: str = "ecapa"):
        super().__init__()
        # ESPnet is imported here, not at module level: importing sertk.models (every model
        # registers itself) must not need ESPnet for the models that do not use it
        from espnet2.spk.encoder.ecapa_tdnn_encoder import EcapaTdnnEncoder
        from espnet2.spk.loss.aamsoftmax import AAMSoftmax
        from espnet2.spk.pooling.chn_attn_stat_pooling import ChnAttnStatPooling
        from espnet2.spk.projector.rawnet3_projector import RawNet3Projector

        if encoder not in ("ecapa", "none"):
            raise ValueError(f"ecapa_mtl: encoder must be ecapa or none, not {encoder!r}")
        if multitask and not 0 <= alpha <= alpha_max < 1:
            raise ValueError(f"ecapa_mtl needs 0 <= alpha ({alpha}) <= alpha_max ({alpha_max}) < 1")
        self.layers = NormalizedLayerSum(input_layers, input_dim, layer)
        # channels in the frame layers; aggregation_dim = the multi-layer feature aggregation conv
        if encoder == "ecapa":
            self.encoder = EcapaTdnnEncoder(input_dim, model_scale=model_scale, ndim=channels,
                                            output_size=aggregation_dim)
        else:  # the ablation: frames (B, T, D) -> (B, D, T) as the pooling reads them
            self.encoder, aggregation_dim = Transpose(), input_dim
        self.pool = ChnAttnStatPooling(aggregation_dim)
        self.project = RawNet3Projector(self.pool.output_size(), embed_dim)  # BatchNorm + FC
        self.aam = AAMSoftmax(embed_dim, num_classes, margin=aam_margin, scale=aam_scale)
        self.expression = nn.Linear(embed_dim, 2) if multitask else None
        self.alpha0, self.alpha_step, self.alpha_max = alpha, alpha_step, alpha_max
        self.alpha = alpha if multitask else 0.0

    def set_feature_stats(self, stats):
        self.layers.set_stats(*stats[0])

    def set_epoch(self, epoch: int):
        """The trainer calls this before each epoch (1-based): alpha's schedule."""
        if self.expression is not None:
            self.alpha = min(self.alpha0 + self.alpha_step * (epoch - 1), self.alpha_max)

    def forward(self, feats, lengths):
        x = self.encoder(self.layers(feats))               # (B, C, T): frame length unchanged
        emb = self.project(self.pool(x, lengths))            # (B, embed_dim)
        # class posteriors from the scaled cosines (the margin only shapes training)
        logits = self.aam.s * F.linear(F.normalize(emb), F.normalize(self.aam.weight))
        out = {"logits": logits, "embedding": emb}
        if self.expression is not None:
            out["style_logits"] = self.expression(emb)
        return out

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        """AAM-softmax has its own CE: class weights and label smoothing do not apply to it."""
        keep = batch["emo"] >= 0
        if keep.any():
            emo = self.aam(out["embedding"][keep], batch["emo"][keep])
            emo = emo[0] if isinstance(emo, tuple) else emo  # (loss, acc, preds) in recent ESPnet
        else:
            emo = out["logits"].sum() * 0.0
        if "style_logits" not in out or "style" not in batch or not (batch["style"] >= 0).any():
            return emo
        exp = masked_cross_entropy(out["style_logits"], batch["style"])
        return (1 - self.alpha) * emo + self.alpha * exp
