"""Pretrained encoders run inside a model (not cached): a speech encoder that is fine-tuned
and a text encoder that is usually frozen. Names load from the Hugging Face hub or s3prl;
a local directory (save_pretrained layout) or checkpoint file works the same way."""
import hashlib
from typing import List, Optional

import torch
import torch.nn as nn

from sertk.features.upstreams import (quiet_transformers, run_layers, whisper_encode_trimmed,
                                     whisper_lengths, whisper_mel_batch)
from sertk.models.layers import NormalizedLayerSum, length_mask

# what a fine-tuned speech encoder gives the emotion path: its last layer, or a learned mix of all
SPEECH_LAYERS = ("last", "weighted")


def check_speech_layers(model: str, speech_layers: str):
    """Refuse an unknown `speech_layers` (also where a mode or stage ignores it: a typo stays one)."""
    if speech_layers not in SPEECH_LAYERS:
        raise ValueError(f"{model} speech_layers must be one of {SPEECH_LAYERS}, not {speech_layers!r}")


class SpeechEncoder(nn.Module):
    """wav2vec2-style encoder on raw 16 kHz audio -> (B, T, H) frames and their lengths.

    source hf:    `transformers.AutoModel` (wav2vec2, HuBERT, WavLM, data2vec-audio), name or dir.
    source s3prl: an s3prl upstream by name (`wav2vec2`, `hubert`, ...), `path_or_url` for a
                  local checkpoint; the last hidden state is used.
    source whisper: a Whisper encoder (name or dir) on each utterance's own log-mel (the
                  "trimmed" convention of the feature stage); its two convolutions are the CNN.
    The convolutional front end is frozen (`freeze_cnn`), the transformer trains.
    `train_top_layers: k` (whisper, and hf wav2vec2 / HuBERT) trains only the top k transformer
    layers (and the final layer norm where there is one): the frozen part (front end + bottom
    layers) always runs as at inference, on each utterance alone, and its output is cached per
    utterance in memory (keyed by utterance id and a SHA-1 of its samples), so it is
    computed once per training run instead of every epoch; the trained layers mask the padding.
    With `cache_all_layers` the cache holds every frozen layer's output, not only the input of
    the first trained layer, so `hidden_states` gives all layers (for a learned layer mix); it
    costs (frozen layers + 1) x frames x width floats per utterance (~1 MB for 2 s of
    Whisper-base with 2 layers trained).
    Each waveform is normalised to zero mean / unit variance over its real samples (what the
    wav2vec2 feature extractor does) when `normalize` (not for Whisper, which takes log-mels).
    """

    def __init__(self, name_or_path: str = "facebook/wav2vec2-base", source: str = "hf",
                 freeze_cnn: bool = True, normalize: bool = True, attention_mask: str = "auto",
                 path_or_url: Optional[str] = None, train_top_layers: int = 0,
                 cache_all_layers: bool = False):
        super().__init__()
        if source not in ("hf", "s3prl", "whisper"):
            raise ValueError(f"speech encoder source must be hf, s3prl or whisper, not {source!r}")
        if attention_mask not in ("auto", "always", "never"):
            raise ValueError(f"attention_mask must be auto, always or never, not {attention_mask!r}")
        self.source, self.normalize = source, normalize and source != "whisper"
        if source == "whisper":
            from transformers import WhisperFeatureExtractor, WhisperModel

            self.fe = WhisperFeatureExtractor.from_pretrained(name_or_path)
            with quiet_transformers():  # encoder-only checkpoints report the decoder as missing
                self.model = WhisperModel.from_pretrained(name_or_path).get_encoder().float()  # fp16 checkpoints train in fp32
            self.hidden_size = self.model.config.d_model
            cnn = nn.ModuleList([self.model.conv1, self.model.conv2])
        elif source == "hf":
            from transformers import AutoModel

            with quiet_transformers():  # CTC/pretraining heads of a checkpoint are unused here
                self.model = AutoModel.from_pretrained(name_or_path)
            self.hidden_size = self.model.config.hidden_size
            # wav2vec2-base style models (group-norm CNN) were pretrained on zero-padded batches
            # without a mask; Hugging Face advises masking only layer-norm models. Output frames
            # beyond each utterance's length are masked downstream in every case.
            layer_norm_cnn = getattr(self.model.config, "feat_extract_norm", "layer") == "layer"
            self.use_mask = attention_mask == "always" or (attention_mask == "auto" and layer_norm_cnn)
            cnn = self.model.feature_extractor
        else:
            from s3prl.nn import S3PRLUpstream

            self.model = S3PRLUpstream(name_or_path, path_or_url=path_or_url)
            self.hidden_size = self.model.hidden_sizes[-1]
            self.use_mask = True  # s3prl takes the lengths itself
            inner = self.model.upstream.model
            cnn = getattr(inner, "feature_extractor", None)
            if cnn is None and freeze_cnn:
                raise ValueError(f"s3prl upstream {name_or_path!r} has no `feature_extractor` to freeze")
        if freeze_cnn:
            for p in cnn.parameters():
                p.requires_grad_(False)
        self.top, self._cut_cache, self.cache_all_layers = int(train_top_layers), {}, bool(cache_all_layers)
        if self.top:
            self._freeze_below_top()

    def _layers(self):
        return self.model.layers if self.source == "whisper" else self.model.encoder.layers

    @property
    def num_states(self) -> int:
        """How many hidden states `hidden_states` gives: the input embedding and every layer's."""
        if self.source == "s3prl":
            return len(self.model.hidden_sizes)
        return len(self._layers()) + 1

    def _final_norm(self):
        """The norm after the last layer: Whisper's, and stable-layer-norm hf models'."""
        if self.source == "whisper":
            return self.model.layer_norm
        return self.model.encoder.layer_norm if getattr(self.model.config, "do_stable_layer_norm", False) else None

    def _freeze_below_top(self):
        if self.source == "s3prl" or (self.source == "hf" and self.model.config.model_type not in ("wav2vec2", "hubert")):
            kind = self.source if self.source == "s3prl" else self.model.config.model_type
            raise ValueError(f"train_top_layers works for whisper and hf wav2vec2/HuBERT encoders, not {kind}")
        n = len(self._layers())
        if not 0 < self.top <= n:
            raise ValueError(f"train_top_layers {self.top}: the encoder has {n} layers")
        self.cut = n - self.top  # index of the first trained layer
        for p in self.model.parameters():
            p.requires_grad_(False)
        for m in list(self._layers()[self.cut:]) + [self._final_norm()]:
            if m is not None:
                for p in m.parameters():
                    p.requires_grad_(True)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.top:  # the frozen part runs as at inference (no dropout): what the cache holds
            self.model.eval()
            for layer in self._layers()[self.cut:]:
                layer.train(mode)
        return self

    def _normalise(self, wav, lengths):
        mask = length_mask(lengths, wav.shape[1]).to(wav.dtype)
        n = lengths.clamp_min(1)[:, None].to(wav.dtype)
        mean = (wav * mask).sum(1, keepdim=True) / n
        var = (((wav - mean) * mask) ** 2).sum(1, keepdim=True) / n
        return (wav - mean) / torch.sqrt(var + 1e-7) * mask

    def forward(self, wav, lengths, keys=None):
        """The encoder's output frames (B, T, H) and their lengths. `keys` (utterance ids):
        with train_top_layers, the frozen part's output is cached under them."""
        _, last, out_lens = self._encode(wav, lengths, keys=keys)
        return last, out_lens

    def output_lengths(self, lengths):
        """Frames per utterance for `lengths` samples (hf and whisper sources)."""
        if self.source == "whisper":
            return (lengths // self.fe.hop_length + 1) // 2
        if self.source == "hf":
            return self.model._get_feat_extract_output_lengths(lengths)
        raise ValueError("output lengths are computed for hf and whisper encoders only")

    def hidden_states(self, wav, lengths, mask_time_indices=None, mask_embed=None, keys=None):
        """Every layer's frames [(B, T, H)], input embedding first, and their lengths.
        mask_time_indices (B, T) bool: frames replaced by a learned mask embedding before the
        transformer (HuBERT-style masked prediction): the model's own for `hf` encoders,
        `mask_embed` for Whisper; s3prl upstreams cannot mask. With train_top_layers and `keys`,
        the states below the first trained layer are None (the cache holds only its input) unless
        `cache_all_layers`."""
        states, _, out_lens = self._encode(wav, lengths, mask_time_indices, mask_embed, keys)
        return states, out_lens

    def _encode(self, wav, lengths, mask_time_indices=None, mask_embed=None, keys=None):
        """(all hidden states, the output frames, output lengths). The output is the last
        hidden state except for HF stable-layer-norm models, whose output adds the final norm."""
        if self.normalize:
            wav = self._normalise(wav, lengths)
        if self.top:
            return self._encode_top(wav, lengths, keys, mask_time_indices, mask_embed)
        if mask_time_indices is not None and (self.source == "s3prl" or (self.source == "whisper" and mask_embed is None)):
            raise ValueError(f"frame masking needs an hf encoder or a Whisper encoder with mask_embed (source {self.source!r})")
        if self.source == "s3prl":
            hs, hs_len = self.model(wav, lengths)
            return list(hs), hs[-1], hs_len[-1]
        if self.source == "whisper":
            wavs = [w[:n].detach().cpu().numpy() for w, n in zip(wav, lengths.tolist())]
            mel_lens, out_lens = whisper_lengths(self.fe, wavs)
            mel = whisper_mel_batch(self.fe, wavs, mel_lens).to(wav.device)
            states = whisper_encode_trimmed(self.model, mel, mel_lens, out_lens, mask_time_indices, mask_embed)
            return list(states), states[-1], torch.tensor(out_lens, device=wav.device)
        mask = length_mask(lengths, wav.shape[1]).long() if self.use_mask else None
        out = self.model(wav, attention_mask=mask, mask_time_indices=mask_time_indices, output_hidden_states=True)
        out_lens = self.output_lengths(lengths).clamp(max=out.last_hidden_state.shape[1])
        return list(out.hidden_states), out.last_hidden_state, out_lens

    def _bottom(self, wav1):
        """(1, n) samples of one utterance -> (cut + 1, T, H): the frozen states, the input
        embedding first and the input of the first trained layer last."""
        if self.source == "whisper":
            w = [wav1[0].detach().cpu().numpy()]
            mel_lens, out_lens = whisper_lengths(self.fe, w)
            mel = whisper_mel_batch(self.fe, w, mel_lens).to(wav1.device)
            states = whisper_encode_trimmed(self.model, mel, mel_lens, out_lens, stop=self.cut)
        else:
            mask = torch.ones_like(wav1, dtype=torch.long) if self.use_mask else None
            states = self.model(wav1, attention_mask=mask, output_hidden_states=True).hidden_states
        return torch.cat(states[: self.cut + 1])

    def _cut_states(self, wav, lengths, keys):
        """Per utterance, the frozen part's output (T_i, H), or with `cache_all_layers` every
        frozen state (cut + 1, T_i, H): from the cache, or computed alone (no padding) without
        gradients and cached when `keys` name the utterances."""
        out = []
        for i, n in enumerate(lengths.tolist()):
            key = None if keys is None else (keys[i], hashlib.sha1(wav[i, :n].detach().cpu().numpy().tobytes()).hexdigest())
            h = self._cut_cache.get(key) if key is not None else None
            if h is None:
                with torch.no_grad():
                    h = self._bottom(wav[i:i + 1, :n]).float()
                h = h if self.cache_all_layers else h[-1]
                if key is not None:
                    self._cut_cache[key] = h.cpu()
            out.append(h.to(wav.device))
        return out

    def _encode_top(self, wav, lengths, keys, mask_time_indices=None, mask_embed=None):
        cut = self._cut_states(wav, lengths, keys)
        out_lens = torch.tensor([h.shape[-2] for h in cut], device=wav.device)
        if self.cache_all_layers:  # per utterance (cut + 1, T_i, H) -> cut + 1 padded (B, T, H)
            frozen = list(nn.utils.rnn.pad_sequence([h.transpose(0, 1) for h in cut], batch_first=True).unbind(2))
        else:
            frozen = [None] * self.cut + [nn.utils.rnn.pad_sequence(cut, batch_first=True)]
        if mask_time_indices is not None:
            frozen[-1] = self._mask_at_cut(frozen[-1], mask_time_indices, mask_embed)
        tops = run_layers(self._layers()[self.cut:], frozen[-1], out_lens)
        norm = self._final_norm()
        if norm is not None:
            tops[-1] = norm(tops[-1])
        return frozen + tops, tops[-1], out_lens

    def _mask_at_cut(self, x, mask_time_indices, mask_embed):
        """Masked prediction when only the top layers train: the masked frames of the first
        trained layer's input become mask_embed plus the frame's position (Whisper's own
        sinusoidal table; the same sinusoids for hf encoders, whose convolutional positions
        have no table), so that masked frames still differ by where they are. With every layer
        trained this is Whisper's masking before the transformer exactly."""
        if mask_embed is None:
            raise ValueError("with train_top_layers, frame masking needs mask_embed: the frames are masked "
                             "at the input of the first trained layer")
        T = x.shape[1]
        if self.source == "whisper":
            pos = self.model.embed_positions.weight[:T]
        else:
            from transformers.models.whisper.modeling_whisper import sinusoids

            pos = sinusoids(T, x.shape[2])
        m = mask_time_indices[:, :T]
        return torch.where(m[..., None], (mask_embed + pos.to(x.device, x.dtype))[None], x)


class LayerNormedMix(NormalizedLayerSum):
    """A learned softmax mix of an encoder's hidden states, each layer-normed over its width
    first (s3prl's featurizer): for an encoder whose last layer is a weak one for emotion
    (Whisper-base's: RESULTS.md "What holds `ptm_cnn` back"). The statistics stay 0 / 1."""

    def forward(self, states: List[torch.Tensor]) -> torch.Tensor:
        return super().forward(torch.stack([nn.functional.layer_norm(h, h.shape[-1:]) for h in states], 1))


def build_speech(speech_encoder: dict, speech_layers: str = "last"):
    """A fine-tuned SpeechEncoder and what the emotion path reads of it: its last layer
    (`speech_layers: last`, mix None) or a LayerNormedMix of every state (`weighted`; with
    train_top_layers the cache then holds every frozen state too). The caller checked the name."""
    weighted = speech_layers == "weighted"
    speech = SpeechEncoder(**{**(speech_encoder or {}), **({"cache_all_layers": True} if weighted else {})})
    return speech, (LayerNormedMix(speech.num_states, speech.hidden_size) if weighted else None)


def encode_speech(speech: SpeechEncoder, mix, wav, lengths, keys=None):
    """(the emotion path's frames, the last layer's frames, lengths) of build_speech's pair:
    an auxiliary head (MMER's CTC) keeps reading the last layer whatever the mix."""
    if mix is None:
        x, lens = speech(wav, lengths, keys)
        return x, x, lens
    states, lens = speech.hidden_states(wav, lengths, keys=keys)
    return mix(states), states[-1], lens


class TextEncoder(nn.Module):
    """A Hugging Face text encoder (paper: roberta-base) on transcripts -> (B, T, H) token
    states and a mask. Frozen by default: kept in eval mode and run without gradients."""

    def __init__(self, name_or_path: str = "roberta-base", freeze: bool = True, max_length: int = 128):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        with quiet_transformers():  # pooler/LM heads of a checkpoint are unused here
            self.model = AutoModel.from_pretrained(name_or_path)
        self.hidden_size = self.model.config.hidden_size
        self.freeze, self.max_length = freeze, max_length
        if freeze:
            for p in self.model.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.model.eval()  # no dropout in a frozen encoder
        return self

    def forward(self, texts: List[str]):
        device = next(self.model.parameters()).device
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(device)
        with torch.set_grad_enabled(not self.freeze and torch.is_grad_enabled()):
            out = self.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        return out.last_hidden_state, tok["attention_mask"].bool()
