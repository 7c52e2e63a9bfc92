"""Pretrained-encoder baseline of CAMuLeNet (Goel, Hira, Gupta): the frozen encoder's hidden
states averaged over time to one vector, read by a 1-D CNN as a one-channel signal:
Conv1d + BatchNorm + ReLU + dropout + max-pool -> flatten -> two fully connected layers."""
from typing import Union

import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.layers import MeanPooling, NormalizedLayerSum, length_mask
from sertk.models.losses import masked_cross_entropy
from sertk.models.registry import register_model


@register_model("ptm_cnn")
class PretrainedEmbeddingCNN(SERModel):
    def __init__(self, input_layers: int, input_dim: int, num_classes: int, layer: Union[int, str] = -1, channels: int = 64,
                 kernel_size: int = 3, pool_size: int = 2, hidden_dim: int = 128, dropout: float = 0.3):
        super().__init__()
        # paper: the last layer; `weighted`: a learned mix (for an encoder other than the paper's)
        self.layers = NormalizedLayerSum(input_layers, input_dim, layer)
        self.pool = MeanPooling(input_dim)
        self.cnn = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2), nn.BatchNorm1d(channels),
            nn.ReLU(), nn.Dropout(dropout), nn.MaxPool1d(pool_size), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(channels * (input_dim // pool_size), hidden_dim), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_dim, num_classes))

    def set_feature_stats(self, stats):
        self.layers.set_stats(*stats[0])

    def forward(self, feats, lengths):
        x = self.layers(feats)
        emb = self.pool(x, length_mask(lengths, x.shape[1]))  # (B, D): the time-averaged embedding
        return {"logits": self.head(self.cnn(emb[:, None, :]))}

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        return masked_cross_entropy(out["logits"], batch["emo"], class_weight, label_smoothing)
