"""MMER (Ghosh et al., "Multimodal Multi-task learning for Emotion Recognition in Spoken
Utterances"): a fine-tuned wav2vec2-style speech encoder, a frozen text encoder, three
cross-modal blocks (crossmodal.py), an emotion head on [pool(speech); pool(M)] and a CTC head
on the speech frames (ESPnet's CTC) as an auxiliary task.

  loss = CE(emotion) + ctc_weight * CTC(characters)

`mode` gives the paper's ablations from the same code: `speech` (speech encoder + linear),
`text` (text encoder + linear), `multimodal` (MMER; ctc_weight 0 is "MMER without CTC").
`speech_layers`: `last`, the paper's (wav2vec2-base's output), or `weighted`, for an encoder
whose last layer is a weak one for emotion (Whisper-base's: RESULTS.md "What holds `ptm_cnn`
back"): the emotion path reads a learned softmax mix of the encoder's layers, each layer-normed
over its width (s3prl's featurizer), while the CTC head keeps reading the last layer.
"""
from typing import Dict, List

import torch
import torch.nn as nn

from sertk.models.base import SERModel
from sertk.models.crossmodal import CrossModalFusion
from sertk.models.layers import build_pooling, length_mask
from sertk.models.losses import masked_cross_entropy
from sertk.models.pretrained import TextEncoder, build_speech, check_speech_layers, encode_speech
from sertk.models.registry import register_model
from sertk.text.charvocab import collapse_ctc

MODES = ("multimodal", "speech", "text")


@register_model("mmer")
class MMER(SERModel):
    input_kind = "audio"  # the trainer feeds raw waveforms (+ transcripts), not cached features

    def __init__(self, num_classes: int, vocab_size: int = 0, mode: str = "multimodal",
                 speech_encoder: dict = None, text_encoder: dict = None, fusion_dim: int = 768,
                 heads: int = 12, ffn_dim: int = 3072, dropout: float = 0.1, pooling: str = "mean",
                 ctc_weight: float = 0.1, speech_layers: str = "last"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mmer mode must be one of {MODES}, not {mode!r}")
        if pooling not in ("mean", "max"):
            raise ValueError(f"mmer pooling must be mean or max, not {pooling!r}")
        check_speech_layers("mmer", speech_layers)  # checked in text mode too
        self.mode, self.ctc_weight = mode, float(ctc_weight)
        self.speech, self.speech_mix = None, None
        if mode != "text":
            self.speech, self.speech_mix = build_speech(speech_encoder, speech_layers)
        self.text = TextEncoder(**(text_encoder or {})) if mode != "speech" else None
        d = fusion_dim
        if mode == "multimodal":
            # the paper's encoders are both 768 wide; other sizes are projected to fusion_dim
            self.speech_proj = _projection(self.speech.hidden_size, d)
            self.text_proj = _projection(self.text.hidden_size, d)
            self.fusion = CrossModalFusion(d, heads, ffn_dim, dropout)
            head_in = 2 * d
        else:
            head_in = (self.speech or self.text).hidden_size
        self.pool = build_pooling(pooling, head_in)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(head_in, num_classes)
        self.ctc = None
        if self.needs_ctc(mode, ctc_weight):
            if vocab_size < 2:
                raise ValueError("mmer with ctc_weight > 0 needs a character vocabulary (vocab_size)")
            from espnet2.asr.ctc import CTC

            self.ctc = CTC(odim=vocab_size, encoder_output_size=self.speech.hidden_size)

    @staticmethod
    def needs_ctc(mode: str = "multimodal", ctc_weight: float = 0.1, **_) -> bool:
        return mode != "text" and float(ctc_weight) > 0

    @staticmethod
    def needs_text(mode: str = "multimodal", **_) -> bool:
        return mode != "speech"

    @staticmethod
    def needs_audio(mode: str = "multimodal", **_) -> bool:
        return mode != "text"

    def speech_encoder(self):
        return self.speech

    def forward(self, batch: Dict) -> Dict:
        out = {}
        if self.speech is not None:
            s, last, s_len = encode_speech(self.speech, self.speech_mix, batch["wav"], batch["wav_lengths"],
                                           batch.get("utt"))
            s_mask = length_mask(s_len, s.shape[1])
            out["speech_hidden"], out["speech_lengths"] = last, s_len  # what the CTC head reads
        if self.text is not None:
            t, t_mask = self.text(batch["text"])
        if self.mode == "speech":
            emb = self.pool(s, s_mask)
        elif self.mode == "text":
            emb = self.pool(t, t_mask)
        else:
            s_p, t_p = self.speech_proj(s), self.text_proj(t)
            m = self.fusion(s_p, s_mask, t_p, t_mask)
            emb = torch.cat([self.pool(s_p, s_mask), self.pool(m, t_mask)], -1)
        out["logits"] = self.head(self.dropout(emb))
        if self.ctc is not None and "ctc" in batch:
            out["ctc_loss"] = self.ctc(last, s_len, batch["ctc"], batch["ctc_lengths"])
        return out

    def loss(self, out, batch, class_weight=None, label_smoothing: float = 0.0):
        loss = masked_cross_entropy(out["logits"], batch["emo"], class_weight, label_smoothing)
        if "ctc_loss" in out:
            loss = loss + self.ctc_weight * out["ctc_loss"]
        return loss

    @torch.no_grad()
    def ctc_greedy(self, out) -> List[List[int]]:
        """Best-path decoding of the CTC head: repeats collapsed, blanks (id 0) dropped."""
        best = self.ctc.argmax(out["speech_hidden"])
        return [collapse_ctc(ids[:n]) for ids, n in zip(best.tolist(), out["speech_lengths"].tolist())]


def _projection(src: int, dst: int) -> nn.Module:
    return nn.Identity() if src == dst else nn.Linear(src, dst)
