"""Hierarchical discrete + continuous conformer (Sharma, Dhamyal, Raj, Singh: "Unifying the
discrete and continuous emotion labels for speech emotion recognition").

cached upstream layers -> global MVN + learnable weighted layer sum (what an s3prl frontend
with a weighted sum does for a frozen upstream) -> linear pre-encoder (-> 80) -> ESPnet
ConformerEncoder -> per-branch self-attentive pooling -> MLP embeddings E_D (discrete) and
E_C (continuous) -> output layers wired by `variant`:

    baseline_d  discrete only (CE)         baseline_c  continuous only (CCC)
    mtl         both, independent          hier_dc     continuous output reads [E_C; E_D]
    hier_cd     discrete output reads [E_D; E_C]

Loss = alpha * sum over V/A/D of (1 - CCC) + beta * CE, each over the examples that carry
that label kind, which is what allows training on corpora with mismatched label kinds.
Continuous outputs are predicted in standardised units and mapped back with the training
split's mean/std, so any rating scale (1-5, 1-7, -1..1) trains the same way.
"""
import torch
import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.layers import AttentivePooling, NormalizedLayerSum, feedforward, length_mask
from sertk.models.losses import ccc_loss, masked_cross_entropy
from sertk.models.registry import register_model

VARIANTS = ("baseline_d", "baseline_c", "mtl", "hier_dc", "hier_cd")
# the authors' ESPnet encoder configuration
ENCODER_DEFAULTS = dict(output_size=64, attention_heads=4, linear_units=64, num_blocks=4,
                        dropout_rate=0.1, positional_dropout_rate=0.1, attention_dropout_rate=0.1,
                        input_layer="linear", normalize_before=True, macaron_style=True,
                        rel_pos_type="latest", pos_enc_layer_type="rel_pos",
                        selfattention_layer_type="rel_selfattn", activation_type="swish",
                        use_cnn_module=True, cnn_module_kernel=31)


class Branch(nn.Module):
    """Self-attentive pooling + MLP embedding (64 -> 128 -> 32 by default)."""

    def __init__(self, dim, mlp_dims, dropout):
        super().__init__()
        self.pool = AttentivePooling(dim)
        self.mlp = feedforward(dim, mlp_dims, dropout, "leaky_relu")
        self.out_dim = list(mlp_dims)[-1] if mlp_dims else dim

    def forward(self, x, mask):
        return self.mlp(self.pool(x, mask))


@register_model("conformer_hier")
class HierarchicalConformer(SERModel):
    def __init__(self, input_layers: int, input_dim: int, num_classes: int, variant: str = "hier_cd",
                 layer="weighted", pre_encoder_dim: int = 80, encoder_conf: dict = None,
                 mlp_dims=(128, 32), dropout: float = 0.2, continuous_pooling: str = "per_dim",
                 alpha: float = 1.0, beta: float = 1.0):
        super().__init__()
        from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r}: use one of {VARIANTS}")
        if continuous_pooling not in ("per_dim", "shared"):
            raise ValueError(f"continuous_pooling {continuous_pooling!r}: use per_dim or shared")
        self.variant, self.alpha, self.beta = variant, alpha, beta
        self.discrete = variant != "baseline_c"
        self.continuous = variant != "baseline_d"
        if self.discrete and num_classes < 2:
            raise ValueError(f"variant {variant} needs an emotion inventory (got {num_classes} classes)")
        self.layers = NormalizedLayerSum(input_layers, input_dim, layer)
        self.pre_encoder = nn.Linear(input_dim, pre_encoder_dim)
        conf = {**ENCODER_DEFAULTS, "use_flash_attn": False, **(encoder_conf or {})}
        self.encoder = ConformerEncoder(input_size=pre_encoder_dim, **conf)
        d = self.encoder.output_size()
        self._frame_mask = None  # (B, T') of the current forward, for the hooks below
        self.encoder.embed.register_forward_hook(self._capture_subsampled_mask)
        for block in self.encoder.encoders:
            if getattr(block, "conv_module", None) is not None:
                block.conv_module.depthwise_conv.register_forward_pre_hook(self._zero_padded_frames)
        self.register_buffer("avd_mean", torch.zeros(3))
        self.register_buffer("avd_std", torch.ones(3))

        if self.discrete:
            self.branch_d = Branch(d, mlp_dims, dropout)
        if self.continuous:
            n = 3 if continuous_pooling == "per_dim" else 1
            self.branch_c = nn.ModuleList(Branch(d, mlp_dims, dropout) for _ in range(n))
        e = (self.branch_d if self.discrete else self.branch_c[0]).out_dim
        if self.discrete:
            self.out_d = nn.Linear(2 * e if variant == "hier_cd" else e, num_classes)
        if self.continuous:
            in_c = 2 * e if variant == "hier_dc" else e
            # per_dim: one output unit per dimension on its own embedding; shared: 3 units
            self.out_c = nn.ModuleList(nn.Linear(in_c, 3 // len(self.branch_c)) for _ in self.branch_c)

    def set_feature_stats(self, stats):
        self.layers.set_stats(*stats[0])

    def set_target_stats(self, mean, std):
        self.avd_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.avd_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    # ESPnet's conformer convolution module has no padding mask: the depthwise conv would
    # mix padded frames into real ones, so a prediction would depend on what it is batched
    # with. Zeroing padded frames right before each depthwise conv (as a single-utterance
    # run's zero padding does) makes it batch-independent.
    def _capture_subsampled_mask(self, module, args, output):
        if isinstance(output, tuple) and len(output) == 2 and torch.is_tensor(output[1]) \
                and output[1].dtype == torch.bool:
            self._frame_mask = output[1][:, 0]

    def _zero_padded_frames(self, module, args):
        x = args[0]  # (B, channels, T)
        if self._frame_mask is None or self._frame_mask.shape[1] != x.shape[2]:
            return None
        return (x * self._frame_mask[:, None].to(x.dtype),)

    def encode(self, feats, lengths):
        x = self.pre_encoder(self.layers(feats))
        self._frame_mask = length_mask(lengths, x.shape[1])  # replaced if the embed subsamples
        try:
            x, olens, _ = self.encoder(x, lengths)
        finally:
            self._frame_mask = None
        return x, length_mask(olens, x.shape[1])

    def forward(self, feats, lengths):
        x, mask = self.encode(feats, lengths)
        out = {}
        e_d = self.branch_d(x, mask) if self.discrete else None
        e_c = [b(x, mask) for b in self.branch_c] if self.continuous else None
        if self.discrete:
            # hier_cd: the discrete decision sees the continuous embedding(s)
            ctx = torch.stack(e_c).mean(0) if self.variant == "hier_cd" else None
            out["logits"] = self.out_d(e_d if ctx is None else torch.cat([e_d, ctx], -1))
        if self.continuous:
            ins = [torch.cat([e, e_d], -1) if self.variant == "hier_dc" else e for e in e_c]
            z = torch.cat([o(i) for o, i in zip(self.out_c, ins)], -1)  # standardised units
            out["avd_z"] = z
            out["avd"] = z * self.avd_std + self.avd_mean
        return out

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        total = out[next(iter(out))].sum() * 0.0
        if self.discrete and "emo" in batch:
            total = total + self.beta * masked_cross_entropy(out["logits"], batch["emo"], class_weight,
                                                             label_smoothing)
        if self.continuous and "avd" in batch:
            target = (batch["avd"] - self.avd_mean) / self.avd_std
            total = total + self.alpha * ccc_loss(out["avd_z"], target)
        return total
