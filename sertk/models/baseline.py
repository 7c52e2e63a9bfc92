"""Frozen-upstream baseline (SUPERB emotion task style): cached hidden states ->
global MVN + learnable weighted sum of layers (or one layer) -> linear projection ->
pooling (mean, mean+std, attentive) -> MLP -> classes."""
import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.losses import masked_cross_entropy
from sertk.models.layers import NormalizedLayerSum, build_pooling, length_mask, mlp
from sertk.models.registry import register_model


@register_model("baseline")
class FrozenUpstreamBaseline(SERModel):
    def __init__(self, input_layers: int, input_dim: int, num_classes: int, layer="weighted",
                 pooling: str = "mean", projection_dim: int = 256, hidden_dims=(256,),
                 dropout: float = 0.2, input_dropout: float = 0.0):
        super().__init__()
        self.layers = NormalizedLayerSum(input_layers, input_dim, layer)
        self.input_dropout = nn.Dropout(input_dropout)
        # projection_dim 0: pool the normalised upstream features directly
        self.proj = nn.Linear(input_dim, projection_dim) if projection_dim else nn.Identity()
        self.pool = build_pooling(pooling, projection_dim or input_dim)
        self.head = mlp(self.pool.out_dim, list(hidden_dims), num_classes, dropout)

    def set_feature_stats(self, stats):
        """Called by the trainer with training-split statistics of the cached features."""
        self.layers.set_stats(*stats[0])

    def embed(self, feats, lengths):
        x = self.layers(feats)
        x = self.proj(self.input_dropout(x))
        return self.pool(x, length_mask(lengths, x.shape[1]))

    def forward(self, feats, lengths):
        return {"logits": self.head(self.embed(feats, lengths))}

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        return masked_cross_entropy(out["logits"], batch["emo"], class_weight, label_smoothing)
