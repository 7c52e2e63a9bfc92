"""Cross-modal interaction of MMER (Ghosh et al., "Multimodal Multi-task learning for Emotion
Recognition in Spoken Utterances").

Three cross-modal encoder blocks (post-LN transformer layers whose attention takes queries
from one modality and keys/values from the other):
  B: queries speech, keys/values text        -> P (speech length)
  C: queries text,   keys/values P           -> R, speech-aware word representations
  D: queries text,   keys/values speech      -> Q, word-aware speech representations
then an acoustic gate g = sigmoid(W_g [R; Q] + b_g), Q <- g * Q, and M = Linear([Q; R]).
Padding masks are respected in every attention (keys) and by the caller's pooling.
"""
import torch
import torch.nn as nn


class CrossModalBlock(nn.Module):
    """Post-LN transformer layer: x <- LN(x + Attn(x, kv)); x <- LN(x + FFN(x))."""

    def __init__(self, dim: int = 768, heads: int = 12, ffn_dim: int = 3072, dropout: float = 0.1):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_dim, dim))
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, kv, kv_mask):
        """x (B, Tq, D) queries; kv (B, Tk, D); kv_mask (B, Tk) True on real frames."""
        a, _ = self.attn(x, kv, kv, key_padding_mask=~kv_mask, need_weights=False)
        x = self.norm1(x + self.dropout(a))
        return self.norm2(x + self.dropout(self.ffn(x)))


class CrossModalFusion(nn.Module):
    """Speech (B, Ts, D) + text (B, Tt, D) -> M (B, Tt, D), the fused word-level sequence."""

    def __init__(self, dim: int = 768, heads: int = 12, ffn_dim: int = 3072, dropout: float = 0.1):
        super().__init__()
        self.block_b = CrossModalBlock(dim, heads, ffn_dim, dropout)
        self.block_c = CrossModalBlock(dim, heads, ffn_dim, dropout)
        self.block_d = CrossModalBlock(dim, heads, ffn_dim, dropout)
        self.gate = nn.Linear(2 * dim, dim)
        self.merge = nn.Linear(2 * dim, dim)

    def forward(self, speech, speech_mask, text, text_mask):
        p = self.block_b(speech, text, text_mask)
        r = self.block_c(text, p, speech_mask)
        q = self.block_d(text, speech, speech_mask)
        q = torch.sigmoid(self.gate(torch.cat([r, q], -1))) * q
        return self.merge(torch.cat([q, r], -1))
