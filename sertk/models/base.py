"""The contract between a model and the code that trains, applies and inspects it: the trainer
(sertk.train), the predictor (sertk.infer) and the units step (sertk.units) read a model
through this class only. A new model subclasses SERModel, overrides what differs from the
defaults below, and registers itself with @register_model("name") (sertk.models.registry).

Input (`input_kind`):
  "features"  forward(feats, lengths): cached upstream features, feats (B, L, T, D) for one
              stream (L layers) and lengths (B,) in frames; several streams: lists of both.
  "audio"     forward(batch): the batch of sertk.data.audio_dataset (wav, wav_lengths, and
              text / CTC targets / frame units as the needs_* methods below ask).

Output: a dict with any of
  "logits"          (B, classes) class scores (softmax gives the posteriors)
  "avd"             (B, 3) valence, arousal, dominance in the corpus's scale
  "gender_logits" / "style_logits"   auxiliary heads (sertk.data.datadir.ATTRIBUTES)
  "embedding"       (B, E) the final utterance embedding (t-SNE plots)
  "ctc_loss"        a CTC task's loss; the model's ctc_greedy(out) then gives the decoded
                    characters, from which the trainer reports the valid CER
Loss: loss(out, batch, class_weight, label_smoothing) -> scalar, the model's own combination of
its tasks (epoch-trained models; fits_on_pooled models are fitted in closed form instead).

What the data must carry (class-level, from model_conf, so the trainer can build datasets
before the model): needs_text, needs_audio, needs_ctc, needs_units.
Statistics and schedule hooks (called by the trainer, no-ops by default): set_feature_stats,
set_target_stats, set_epoch.
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn


class SERModel(nn.Module):
    input_kind = "features"  # or "audio"
    fits_on_pooled = False   # True: fitted on pooled statistics by sertk.train.pooled, no epochs
    # training draws no random numbers (the `seed` changes nothing): one run stands for every
    # seed when `sertk compare` pairs it with a system run over several seeds
    seed_free = False
    # model_conf settings that only fetch initial weights; a model rebuilt to load a checkpoint
    # gets these instead (e.g. CAMuLeNet's ImageNet AlexNet: never downloaded to be overwritten)
    restore_overrides: dict = {}

    @staticmethod
    def needs_text(**model_conf) -> bool:
        """Reads transcripts (`text` of the data dir)."""
        return False

    @classmethod
    def needs_audio(cls, **model_conf) -> bool:
        """Reads waveforms (audio models; a text-only configuration does not)."""
        return cls.input_kind == "audio"

    @staticmethod
    def needs_ctc(**model_conf) -> bool:
        """Learns a CTC character task: the trainer builds the character vocabulary."""
        return False

    @staticmethod
    def needs_units(**model_conf) -> List[int]:
        """Cluster sizes whose frame labels (`sertk units` output) the data must carry."""
        return []

    def set_feature_stats(self, stats: Sequence[Tuple]) -> None:
        """Training-split (mean, std) of the cached features, one pair per stream."""

    def set_target_stats(self, mean, std) -> None:
        """Training-split mean and std of the V/A/D targets."""

    def set_epoch(self, epoch: int) -> None:
        """Called before each training epoch (1-based): per-epoch schedules."""

    def loss(self, out: dict, batch: dict, class_weight=None, label_smoothing: float = 0.0):
        raise NotImplementedError(f"{type(self).__name__} defines no training loss")

    def ctc_greedy(self, out: dict) -> List[List[int]]:
        raise NotImplementedError(f"{type(self).__name__} has no CTC task")

    def speech_encoder(self) -> Optional[nn.Module]:
        """The speech encoder run on audio (a sertk.models.pretrained.SpeechEncoder), if any:
        `sertk units` clusters its hidden states."""
        return None
