"""Upstream feature extractors, registered by name.

Every upstream maps a batch of 16 kHz mono waveforms to, per utterance, an array
(num_layers, frames, dim): all hidden states, or the ones selected by `layers`. The
extraction runner (extract.py) stores them once; models pick/weight layers later.
"""
import contextlib
import inspect
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

UPSTREAMS: Dict[str, type] = {}


def register_upstream(name):
    def deco(cls):
        UPSTREAMS[name] = cls
        return cls
    return deco


def build_upstream(kind: str, conf: Optional[dict] = None, device: Optional[str] = None):
    """`device` (a run setting, not part of the features' identity) goes to the neural
    upstreams; the signal-processing ones (spectrogram, MFCC) always run on the CPU."""
    if kind not in UPSTREAMS:
        raise ValueError(f"unknown upstream {kind!r}; available: {sorted(UPSTREAMS)}")
    conf = dict(conf or {})
    if device is not None and "device" in inspect.signature(UPSTREAMS[kind]).parameters:
        conf["device"] = device
    return UPSTREAMS[kind](**conf)


def _select(layers_all: List[torch.Tensor], layers: Union[str, int, Sequence[int], None]):
    if layers in (None, "all"):
        return layers_all
    idx = [layers] if isinstance(layers, int) else list(layers)
    n = len(layers_all)
    for i in idx:
        if not -n <= i < n:
            raise ValueError(f"layer {i} out of range: this upstream has {n} hidden states")
    return [layers_all[i] for i in idx]


def _pad(wavs: List[np.ndarray]):
    lens = torch.tensor([len(w) for w in wavs])
    batch = torch.zeros(len(wavs), int(lens.max()))
    for i, w in enumerate(wavs):
        batch[i, : len(w)] = torch.from_numpy(w)
    return batch, lens


@contextlib.contextmanager
def quiet_transformers():
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


class Upstream:
    frame_rate: float = 100.0

    def __call__(self, wavs: List[np.ndarray]) -> List[np.ndarray]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {}


@register_upstream("s3prl")
class S3PRLUpstreamExtractor(Upstream):
    """Any s3prl upstream by name (`hubert_base`, `wav2vec2`, `fbank`, `mfcc`, ...).

    `path_or_url` points a `*_local`/`*_custom` upstream at a local checkpoint.
    """

    # s3prl frames the signal processing upstreams per padded batch, so the last frames of a
    # shorter utterance differ from running it alone; they are cheap, so run them one by one.
    UNBATCHED = {"fbank", "mfcc", "spectrogram", "fbank_no_cmvn", "linear_fbank", "mel"}

    def __init__(self, name: str, path_or_url: Optional[str] = None, layers="all",
                 device: str = "cpu", extra_conf: Optional[dict] = None, batched: Optional[bool] = None):
        from s3prl.nn import S3PRLUpstream

        self.name, self.layers, self.device = name, layers, device
        self.batched = name not in self.UNBATCHED if batched is None else batched
        self.model = S3PRLUpstream(name, path_or_url=path_or_url, extra_conf=extra_conf).to(device).eval()
        self.frame_rate = 16000 / self.model.downsample_rates[0]

    @torch.inference_mode()
    def __call__(self, wavs):
        if not self.batched and len(wavs) > 1:
            return [self([w])[0] for w in wavs]
        batch, lens = _pad(wavs)
        hs, hs_len = self.model(batch.to(self.device), lens.to(self.device))
        hs = _select(hs, self.layers)
        n = hs_len[0]  # all layers share frame counts in s3prl upstreams
        return [torch.stack([h[i, : n[i]] for h in hs]).float().cpu().numpy() for i in range(len(wavs))]


@register_upstream("hf")
class HFEncoderExtractor(Upstream):
    """A Hugging Face speech encoder (wav2vec2/HuBERT/WavLM/data2vec) by name or local dir."""

    def __init__(self, name_or_path: str, layers="all", device: str = "cpu"):
        from transformers import AutoFeatureExtractor, AutoModel

        self.layers, self.device = layers, device
        self.model = AutoModel.from_pretrained(name_or_path).to(device).eval()
        try:
            self.fe = AutoFeatureExtractor.from_pretrained(name_or_path)
        except (OSError, ValueError):
            self.fe = None  # no preprocessor config: raw waveform, no normalisation
        self.frame_rate = 50.0

    @torch.inference_mode()
    def __call__(self, wavs):
        if self.fe is not None:
            inp = self.fe(wavs, sampling_rate=16000, padding=True, return_attention_mask=True,
                          return_tensors="pt")
            x, mask = inp["input_values"], inp.get("attention_mask")
        else:
            x, lens = _pad(wavs)
            mask = (torch.arange(x.shape[1])[None] < lens[:, None]).long()
        out = self.model(x.to(self.device), attention_mask=None if mask is None else mask.to(self.device),
                         output_hidden_states=True)
        hs = _select(list(out.hidden_states), self.layers)
        lens = self.model._get_feat_extract_output_lengths(torch.tensor([len(w) for w in wavs]))
        return [torch.stack([h[i, : lens[i]] for h in hs]).float().cpu().numpy() for i in range(len(wavs))]


@register_upstream("whisper")
class WhisperEncoderExtractor(Upstream):
    """Whisper encoder hidden states (`openai/whisper-base` or a local dir).

    convention:
      trimmed (default)  encode only the real audio: the log-mel of the utterance alone, the
                         positional table sliced to its length. ~15x cheaper than padding.
      padded             Whisper's native 30 s window; outputs cut back to the real frames.
    Both keep ceil(mel_frames / 2) frames (50 per second). Trimmed batches of unequal
    length mask padded frames in the convolutions and in self-attention, so a batch gives
    the same result as one utterance at a time.
    """

    frame_rate = 50.0

    def __init__(self, name_or_path: str = "openai/whisper-base", convention: str = "trimmed",
                 layers="all", device: str = "cpu"):
        from transformers import WhisperFeatureExtractor, WhisperModel

        if convention not in ("trimmed", "padded"):
            raise ValueError(f"whisper convention must be 'trimmed' or 'padded', not {convention!r}")
        self.convention, self.layers, self.device = convention, layers, device
        self.fe = WhisperFeatureExtractor.from_pretrained(name_or_path)
        with quiet_transformers():  # encoder-only checkpoints report the decoder as missing
            self.encoder = WhisperModel.from_pretrained(name_or_path).get_encoder().to(device).float().eval()
        self.max_frames = self.encoder.embed_positions.weight.shape[0]  # 1500 = 30 s

    def describe(self):
        return {"convention": self.convention}

    def _mel(self, wav, pad_to_window):
        kw = {"padding": "max_length"} if pad_to_window else {"padding": "longest"}
        return self.fe(wav, sampling_rate=16000, return_tensors="pt", **kw)["input_features"][0]

    def __call__(self, wavs):
        """Utterances longer than Whisper's 30 s window are cut into equal pieces of at most
        30 s (no short tail), each encoded on its own (as a short utterance would be), and the
        pieces' frames concatenated."""
        pieces, owner = [], []
        for i, w in enumerate(wavs):
            n = -(-len(w) // WHISPER_WINDOW)  # ceil
            bounds = np.linspace(0, len(w), max(n, 1) + 1).round().astype(int)
            pieces += [w[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            owner += [i] * max(n, 1)
        outs = self._encode(pieces)
        if len(pieces) == len(wavs):
            return outs
        return [np.concatenate([o for o, k in zip(outs, owner) if k == i], axis=1) for i in range(len(wavs))]

    @torch.inference_mode()
    def _encode(self, wavs):
        mel_lens, out_lens = whisper_lengths(self.fe, wavs)
        if self.convention == "padded":
            mel = torch.stack([self._mel(w, True) for w in wavs]).to(self.device)
            hs = self.encoder(mel, output_hidden_states=True).hidden_states
        else:
            hs = whisper_encode_trimmed(self.encoder, whisper_mel_batch(self.fe, wavs, mel_lens).to(self.device),
                                        mel_lens, out_lens)
        hs = _select(list(hs), self.layers)
        return [torch.stack([h[i, : out_lens[i]] for h in hs]).float().cpu().numpy()
                for i in range(len(wavs))]


WHISPER_WINDOW = 30 * 16000  # samples: the encoder's positional table covers 30 s


def whisper_lengths(fe, wavs):
    """(log-mel frames, encoder frames) per waveform; refuses more than Whisper's 30 s."""
    for w in wavs:
        if len(w) > WHISPER_WINDOW:
            raise ValueError(f"whisper encodes at most 30 s; got {len(w) / 16000:.1f} s "
                             "(segment long recordings first)")
    mel_lens = [len(w) // fe.hop_length for w in wavs]
    return mel_lens, [(n + 1) // 2 for n in mel_lens]


def whisper_mel_batch(fe, wavs, mel_lens):
    """Each utterance's own log-mel (no 30 s padding), zero-padded to the longest."""
    mel = torch.zeros(len(wavs), fe.feature_size, max(mel_lens))
    for i, w in enumerate(wavs):
        m = fe(w, sampling_rate=16000, return_tensors="pt", padding="longest")["input_features"][0]
        mel[i, :, : mel_lens[i]] = m[:, : mel_lens[i]]
    return mel


def whisper_encode_trimmed(enc, mel, mel_lens, out_lens, mask_time_indices=None, mask_embed=None, stop=None):
    """All hidden states of a Whisper encoder on trimmed log-mels: the positional table sliced
    to the real length, padded frames masked in the convolutions and in self-attention.
    Differentiable (MMER fine-tunes through it). mask_time_indices (B, frames) with mask_embed
    (width,): those frames of the convolution output are replaced by mask_embed before the
    positions are added (masked prediction, as HuBERT's mask embedding). `stop`: only the
    states up to the input of layer `stop` (no final layer norm)."""
    device = mel.device
    T = mel.shape[-1]
    frame_mask = (torch.arange(T, device=device)[None] < torch.tensor(mel_lens, device=device)[:, None])
    x = torch.nn.functional.gelu(enc.conv1(mel)) * frame_mask[:, None]  # zero beyond the end
    x = torch.nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
    if mask_time_indices is not None:
        x = torch.where(mask_time_indices[..., None], mask_embed.to(x.dtype), x)
    x = x + enc.embed_positions.weight[: x.shape[1]]
    states = [x] + run_layers(enc.layers[:stop], x, out_lens)
    if stop is None:
        states[-1] = enc.layer_norm(states[-1])  # as transformers: the last state is layer-normed
    return states


def run_layers(layers, x, out_lens):
    """The states after each of `layers` (transformers encoder layers: Whisper, wav2vec2,
    HuBERT) on x (B, T, H), padded frames beyond `out_lens` masked in self-attention."""
    L = x.shape[1]
    keep = torch.arange(L, device=x.device)[None] < torch.as_tensor(out_lens, device=x.device)[:, None]
    attn = torch.zeros(len(x), 1, L, L, device=x.device, dtype=x.dtype)
    attn.masked_fill_(~keep[:, None, None, :], torch.finfo(x.dtype).min)
    states = []
    for layer in layers:
        x = layer(x, attention_mask=attn if len(x) > 1 else None)
        x = x[0] if isinstance(x, tuple) else x
        states.append(x)
    return states


@register_upstream("stft")
class STFTSpectrogram(Upstream):
    """Log-magnitude STFT spectrogram (one 'layer', n_fft // 2 + 1 bins), e.g. CAMuLeNet's
    image input: Hamming window, n_fft 800, window 40 and hop 10. `unit` says how to read the
    window and hop: `ms` (40 ms / 10 ms, 100 frames per second) or `samples` (40 / 10 samples,
    as the CAMuLeNet authors' code reads them: 1600 frames per second)."""

    def __init__(self, n_fft: int = 800, win_length: float = 40, hop_length: float = 10, unit: str = "ms",
                 window: str = "hamming", log: bool = True):
        if unit not in ("ms", "samples"):
            raise ValueError(f"stft unit must be ms or samples, not {unit!r}")
        scale = 16 if unit == "ms" else 1
        self.win, self.hop = int(round(win_length * scale)), int(round(hop_length * scale))
        if self.win > n_fft:
            raise ValueError(f"stft window ({self.win} samples) is longer than n_fft {n_fft}")
        windows = {"hamming": torch.hamming_window, "hann": torch.hann_window}
        if window not in windows:
            raise ValueError(f"stft window must be one of {sorted(windows)}, not {window!r}")
        self.n_fft, self.window, self.log = n_fft, windows[window](self.win), log
        self.frame_rate = 16000 / self.hop

    @torch.inference_mode()
    def __call__(self, wavs):
        out = []
        for w in wavs:  # one at a time: no padding can leak into the last frames
            spec = torch.stft(torch.from_numpy(w), self.n_fft, hop_length=self.hop, win_length=self.win,
                              window=self.window, center=True, return_complex=True).abs()
            if self.log:
                spec = torch.log(spec + 1e-6)
            out.append(spec.T[None].float().numpy())
        return out


@register_upstream("librosa_mfcc")
class LibrosaMFCC(Upstream):
    """MFCCs from librosa (HTK-style mel by default); one 'layer'."""

    def __init__(self, n_mfcc: int = 40, win_ms: float = 20.0, hop_ms: float = 10.0,
                 n_mels: int = 64, window: str = "hamming", htk: bool = True):
        self.kw = dict(n_mfcc=n_mfcc, n_fft=int(16 * win_ms), win_length=int(16 * win_ms),
                       hop_length=int(16 * hop_ms), n_mels=n_mels, window=window, htk=htk)
        self.frame_rate = 1000.0 / hop_ms

    def __call__(self, wavs):
        from sertk.frontends import librosa_mfcc  # one place: ONNX exports compute it there too

        return [librosa_mfcc(w, **self.kw)[None] for w in wavs]


@register_upstream("opensmile")
class OpenSmileFeatures(Upstream):
    """audEERING's openSMILE feature sets through PyPI `opensmile` — the handcrafted SER
    baseline: `eGeMAPSv02` (25 low-level descriptors, 88 functionals) or `ComParE_2016` (65
    LLDs, 6373 functionals). `level: lld` gives the descriptors as frames (100 per second;
    pooled heads then read their mean and std); `level: functionals` gives the set's own
    utterance-level functionals as one frame."""

    SETS = ("eGeMAPSv02", "ComParE_2016")
    LEVELS = {"lld": "LowLevelDescriptors", "functionals": "Functionals"}

    def __init__(self, feature_set: str = "eGeMAPSv02", level: str = "lld"):
        import opensmile

        if feature_set not in self.SETS or level not in self.LEVELS:
            raise ValueError(f"opensmile: feature_set one of {self.SETS}, level one of {sorted(self.LEVELS)}; "
                             f"got {feature_set!r}, {level!r}")
        self.smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                                     feature_level=getattr(opensmile.FeatureLevel, self.LEVELS[level]))
        self.frame_rate = 100.0 if level == "lld" else 0.0

    def __call__(self, wavs):
        return [self.smile.process_signal(w, 16000).to_numpy(dtype=np.float32)[None] for w in wavs]

    def describe(self) -> dict:
        return {"feature_names": list(self.smile.feature_names)}
