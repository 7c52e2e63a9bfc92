"""Signal-processing front ends in numpy alone (no torch): what an ONNX export (sertk/export.py)
needs besides onnxruntime to turn a 16 kHz waveform into its graph's input. Each equals the
torch upstream it stands for (tests/test_export.py checks them against it):

- whisper_logmel: transformers' WhisperFeatureExtractor without padding;
- kaldi_fbank: torchaudio.compliance.kaldi.fbank as s3prl's `fbank` / `fbank_no_cmvn` call it
  (25 / 10 ms, povey window, pre-emphasis 0.97, DC removed, 512-point FFT), with s3prl's
  deltas and, for `fbank`, its per-utterance CMVN;
- librosa_mfcc: librosa's MFCCs (already torch-free; upstream `librosa_mfcc` calls it too).
"""
import json
from pathlib import Path

import numpy as np

WHISPER_N_FFT, WHISPER_HOP = 400, 160


def whisper_logmel(wav: np.ndarray, mel_filters: np.ndarray) -> np.ndarray:
    """Whisper's log-mel of one 16 kHz waveform, (n_mels, len(wav) // 160): centred
    reflect-padded STFT (periodic Hann, 400 / 160), power, mel, log10, floored 8 below the max,
    scaled (x + 4) / 4."""
    x = np.pad(wav.astype(np.float64), WHISPER_N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, WHISPER_N_FFT)[::WHISPER_HOP]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WHISPER_N_FFT) / WHISPER_N_FFT)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    logmel = np.log10(np.maximum(power @ mel_filters, 1e-10)).T[:, :-1]
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    return ((logmel + 4.0) / 4.0)[:, : len(wav) // WHISPER_HOP].astype(np.float32)


KALDI_FRAME, KALDI_SHIFT, KALDI_FFT, KALDI_PREEMPH = 400, 160, 512, 0.97


def kaldi_log_fbank(wav: np.ndarray, mel_banks: np.ndarray) -> np.ndarray:
    """Kaldi's log mel filterbank, (frames, bins), frames that fit whole (snip_edges).
    mel_banks: (257, bins), torchaudio's kaldi mel banks (stored with the export)."""
    x = wav.astype(np.float32)
    if len(x) < KALDI_FRAME:
        raise ValueError(f"{len(x)} samples: the filterbank needs at least {KALDI_FRAME} (25 ms)")
    frames = np.lib.stride_tricks.sliding_window_view(x, KALDI_FRAME)[::KALDI_SHIFT].astype(np.float64)
    frames = frames - frames.mean(1, keepdims=True)
    frames = frames - KALDI_PREEMPH * np.concatenate([frames[:, :1], frames[:, :-1]], 1)
    n = np.arange(KALDI_FRAME)
    povey = (0.5 - 0.5 * np.cos(2 * np.pi * n / (KALDI_FRAME - 1))) ** 0.85
    power = np.abs(np.fft.rfft(frames * povey, n=KALDI_FFT, axis=1)) ** 2
    return np.log(np.maximum(power @ mel_banks, np.finfo(np.float32).eps)).astype(np.float32)


def deltas(x: np.ndarray, order: int = 2, win_length: int = 5) -> np.ndarray:
    """x (frames, dims) with its `order` regression deltas appended (edges repeated), as
    torchaudio's ComputeDeltas: d[t] = sum_k k (x[t+k] - x[t-k]) / (2 sum_k k^2)."""
    n = (win_length - 1) // 2
    denom = 2 * sum(k * k for k in range(1, n + 1))
    out = [x.astype(np.float64)]
    for _ in range(order):
        p = np.pad(out[-1], ((n, n), (0, 0)), mode="edge")
        T = len(out[-1])
        out.append(sum(k * (p[n + k: n + k + T] - p[n - k: n - k + T]) for k in range(1, n + 1)) / denom)
    return np.concatenate(out, 1).astype(np.float32)


def s3prl_fbank(wav: np.ndarray, mel_banks: np.ndarray, cmvn: bool = False) -> np.ndarray:
    """s3prl's `fbank_no_cmvn` (cmvn=False) or `fbank` (cmvn=True): (ceil(samples / 160), 3 x
    bins); like s3prl, the last frame is repeated up to one frame per 160 samples."""
    x = deltas(kaldi_log_fbank(wav, mel_banks)).astype(np.float64)
    if cmvn:  # unbiased std, as torch.std
        x = (x - x.mean(0)) / (1e-10 + x.std(0, ddof=1))
    frames = -(-len(wav) // KALDI_SHIFT)
    x = np.concatenate([x, np.repeat(x[-1:], frames - len(x), 0)])[:frames]
    return x.astype(np.float32)


def librosa_mfcc(wav: np.ndarray, **kw) -> np.ndarray:
    """librosa's MFCCs, (frames, n_mfcc); kw as upstream `librosa_mfcc` builds them."""
    import librosa

    return librosa.feature.mfcc(y=wav, sr=16000, **kw).T.astype(np.float32)


class FrontEnd:
    """An ONNX export's front end: waveform -> {graph input name: array}. `spec` is meta.json's
    `front_end` (kind whisper_logmel | s3prl_fbank | librosa_mfcc, and its options); `filters`
    the stored mel filterbank (mel_filters.npy) where the kind needs one."""

    FORMAT = "sertk-onnx-1"
    KINDS = ("whisper_logmel", "s3prl_fbank", "librosa_mfcc")

    def __init__(self, spec: dict, filters=None, meta=None):
        if spec.get("kind") not in self.KINDS:
            raise ValueError(f"unknown front end {spec.get('kind')!r}; known: {', '.join(self.KINDS)}")
        self.spec, self.filters, self.meta = spec, filters, meta or {}

    @classmethod
    def load(cls, export_dir):
        d = Path(export_dir)
        meta = json.loads((d / "meta.json").read_text())
        if meta.get("format") != cls.FORMAT or "front_end" not in meta:
            raise ValueError(f"{d}: not a sertk ONNX export of this version (meta.json format "
                             f"{meta.get('format')!r}); export the model again")
        filters = np.load(d / "mel_filters.npy") if (d / "mel_filters.npy").exists() else None
        return cls(meta["front_end"], filters, meta)

    def __call__(self, wav: np.ndarray) -> dict:
        kind = self.spec["kind"]
        if kind == "whisper_logmel":
            return {"mel": whisper_logmel(wav, self.filters)[None]}
        if kind == "s3prl_fbank":
            feats = s3prl_fbank(wav, self.filters, self.spec["cmvn"])
        else:
            feats = librosa_mfcc(wav, **self.spec["options"])
        return {"feats": feats[None, None]}  # (1 utterance, 1 layer, frames, dims)
