"""GMP-ATL (Pan et al.): HuBERT fine-tuned in three trained stages around a clustering step.

  stage A  encoder -> Bi-LSTM -> mean over time -> LinearP (Linear, ReLU, Linear) -> emotion and
           gender heads; loss = alpha_e * CE_emo + (1 - alpha_e) * CE_gender
  (stage B k-means on the stage-A encoder's frames: `sertk units`, sertk/units.py)
  stage C  the encoder alone, frames span-masked as in HuBERT (the model's own mask embedding,
           or a learned one for Whisper; transformers' `_compute_mask_indices`), one LinearP per cluster scale predicting
           each masked frame's cluster id; loss = sum over scales of CE on masked frames. With
           `speech_encoder.train_top_layers: k` (a CPU can afford it) the frames are masked at the
           input of the first trained layer instead, with a learned mask embedding plus position
  stage D  stage A's architecture without the gender head, started from the stage-C encoder
           (`init_param`), emotion with additive-margin softmax (m 0.2, s 30) or plain CE

`speech_layers: weighted` (stages A and D; stage C always predicts from the last layer): the
Bi-LSTM reads a learned mix of the encoder's layers instead of its last one (as MMER's option),
for an encoder whose last layer is a weak one for emotion, like Whisper-base's.

One class for all stages, chosen by `stage`, so each stage's checkpoint loads the previous
stage's weights by name.
"""
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from sertk.models.base import SERModel
from sertk.models.layers import MeanPooling, length_mask
from sertk.models.losses import masked_cross_entropy
from sertk.models.pretrained import SpeechEncoder, build_speech, check_speech_layers, encode_speech
from sertk.models.registry import register_model

STAGES = ("A", "C", "D")


def linear_p(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """The paper's "LinearP" projection: Linear, ReLU, Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class AMSoftmax(nn.Module):
    """Additive-margin softmax (CosFace): logits s * cos(x, w_c), minus s * m on the target
    class while training. Inference posteriors come from s * cos."""

    def __init__(self, in_dim: int, num_classes: int, margin: float = 0.2, scale: float = 30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_dim))
        nn.init.xavier_normal_(self.weight)
        self.margin, self.scale = margin, scale

    def forward(self, x):
        return self.scale * F.linear(F.normalize(x), F.normalize(self.weight))

    def loss(self, logits, target):
        keep = target >= 0
        if not keep.any():
            return logits.sum() * 0.0
        margin = F.one_hot(target[keep], logits.shape[-1]) * (self.scale * self.margin)
        return F.cross_entropy(logits[keep] - margin, target[keep])


@register_model("gmp_atl")
class GMPATL(SERModel):
    input_kind = "audio"

    def __init__(self, num_classes: int, stage: str = "A", speech_encoder: dict = None,
                 lstm_hidden: int = 256, lstm_layers: int = 1, proj_dim: int = 256, dropout: float = 0.1,
                 alpha_e: float = 0.9, head: str = "amsoftmax", am_margin: float = 0.2, am_scale: float = 30.0,
                 cluster_sizes=(64, 512, 4096), mask_prob: float = 0.65, mask_length: int = 10,
                 speech_layers: str = "last"):
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"gmp_atl stage must be one of {STAGES}, not {stage!r}")
        check_speech_layers("gmp_atl", speech_layers)  # checked in stage C too, which ignores it
        if head not in ("amsoftmax", "ce"):
            raise ValueError(f"gmp_atl head must be amsoftmax or ce, not {head!r}")
        self.stage, self.alpha_e = stage, alpha_e
        if stage == "C":
            self.speech = SpeechEncoder(**(speech_encoder or {}))
            h = self.speech.hidden_size
            # Whisper has no mask embedding, and with train_top_layers the frames are masked at the
            # first trained layer's input, where the model's own would not fit: learn one here
            if self.speech.source == "whisper" or self.speech.top:
                self.mask_embed = nn.Parameter(torch.empty(h).uniform_())
            elif not hasattr(self.speech.model, "masked_spec_embed"):
                raise ValueError("gmp_atl stage C masks frames with a mask embedding: use a Hugging Face "
                                 "HuBERT/wav2vec2 encoder (source hf) or a Whisper encoder, not this one")
            self.cluster_sizes = [int(k) for k in cluster_sizes]
            self.unit_heads = nn.ModuleList(linear_p(h, proj_dim, k) for k in self.cluster_sizes)
            self.mask_prob, self.mask_length = mask_prob, mask_length
            return
        self.speech, self.speech_mix = build_speech(speech_encoder, speech_layers)
        self.lstm = nn.LSTM(self.speech.hidden_size, lstm_hidden, lstm_layers, batch_first=True, bidirectional=True,
                            dropout=dropout if lstm_layers > 1 else 0.0)
        self.pool = MeanPooling(2 * lstm_hidden)
        self.proj = linear_p(2 * lstm_hidden, proj_dim, proj_dim)
        self.dropout = nn.Dropout(dropout)
        if stage == "D" and head == "amsoftmax":
            self.emotion = AMSoftmax(proj_dim, num_classes, am_margin, am_scale)
        else:
            self.emotion = nn.Linear(proj_dim, num_classes)
        self.gender = nn.Linear(proj_dim, 2) if stage == "A" else None

    def speech_encoder(self):
        return self.speech

    @staticmethod
    def needs_units(stage: str = "A", cluster_sizes=(64, 512, 4096), **_) -> List[int]:
        """Cluster scales whose frame labels the data must carry (stage C only)."""
        return [int(k) for k in cluster_sizes] if stage == "C" else []

    def _mask(self, lengths, num_frames: int, device):
        from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

        attn = length_mask(lengths, num_frames).long().cpu()
        spans = _compute_mask_indices((len(lengths), num_frames), self.mask_prob, self.mask_length,
                                      attention_mask=attn, min_masks=1)
        return torch.from_numpy(spans).to(device) & length_mask(lengths, num_frames).to(device)

    def forward(self, batch: Dict) -> Dict:
        wav, wav_len = batch["wav"], batch["wav_lengths"]
        if self.stage == "C":
            mask = None
            if self.training:
                n = self.speech.output_lengths(wav_len)
                frames = int(self.speech.output_lengths(torch.tensor([wav.shape[1]]))[0])
                mask = self._mask(n, frames, wav.device)
            states, lens = self.speech.hidden_states(wav, wav_len, mask, getattr(self, "mask_embed", None),
                                                     batch.get("utt"))
            x = states[-1]
            if mask is None:  # evaluation: score every real frame
                mask = length_mask(lens, x.shape[1])
            return {"unit_logits": [head(x) for head in self.unit_heads], "unit_mask": mask, "lengths": lens}
        x, _, lens = encode_speech(self.speech, self.speech_mix, wav, wav_len, batch.get("utt"))
        m = length_mask(lens, x.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
        y, _ = self.lstm(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        emb = self.proj(self.pool(y, m))
        out = {"logits": self.emotion(self.dropout(emb)), "embedding": emb}
        if self.gender is not None:
            out["gender_logits"] = self.gender(self.dropout(emb))
        return out

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        if self.stage == "C":
            bad = (batch["unit_lengths"] != out["lengths"].to(batch["unit_lengths"].device)).nonzero()
            if len(bad):
                i = int(bad[0, 0])
                raise ValueError(f"utterance {batch['utt'][i]}: {int(batch['unit_lengths'][i])} frame labels for "
                                 f"{int(out['lengths'][i])} encoder frames: the units come from another encoder")
            total = 0.0
            for logits, units in zip(out["unit_logits"], batch["units"]):
                target = units[:, : logits.shape[1]].masked_fill(~out["unit_mask"][:, : units.shape[1]], -1)
                total = total + F.cross_entropy(logits[:, : target.shape[1]].transpose(1, 2), target, ignore_index=-1)
            return total
        if isinstance(self.emotion, AMSoftmax):
            return self.emotion.loss(out["logits"], batch["emo"])
        emo = masked_cross_entropy(out["logits"], batch["emo"], class_weight, label_smoothing)
        if self.gender is None or "gender" not in batch:
            return emo
        return self.alpha_e * emo + (1 - self.alpha_e) * masked_cross_entropy(out["gender_logits"], batch["gender"])
