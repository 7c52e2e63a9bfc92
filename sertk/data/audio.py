"""Audio reading: every waveform leaves here as 16 kHz mono float32.

Multichannel audio is downmixed by averaging the channels (the usual choice of s3prl and
SpeechBrain recipes); other sample rates are resampled with torchaudio's sinc resampler.
"""
import functools
import io
import subprocess

import numpy as np
import soundfile as sf

TARGET_SR = 16000


class AudioError(RuntimeError):
    """Unreadable, empty or broken audio; the message names the utterance and file."""


def _read_source(source: str):
    """Read a wav.scp value: a file path, or a Kaldi-style pipe command ending in '|'."""
    if source.endswith("|"):
        proc = subprocess.run(source[:-1], shell=True, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pipe failed ({proc.returncode}): {proc.stderr.decode()[-300:]}")
        return sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    return sf.read(source, dtype="float32", always_2d=True)


@functools.lru_cache(maxsize=8)
def _resampler(sr: int, target_sr: int):
    import torchaudio

    return torchaudio.transforms.Resample(sr, target_sr)  # builds the sinc kernel once


def resample(wav: np.ndarray, sr: int, target_sr: int = TARGET_SR) -> np.ndarray:
    if sr == target_sr:
        return wav
    import torch

    with torch.no_grad():
        return _resampler(sr, target_sr)(torch.from_numpy(wav)).numpy()


def load_audio(utt: str, source: str, start: float = None, end: float = None) -> np.ndarray:
    """Load one utterance as 16 kHz mono float32, optionally cut to [start, end) seconds."""
    try:
        data, sr = _read_source(source)
    except Exception as e:  # soundfile raises several types; all mean "cannot read"
        raise AudioError(f"utterance {utt}: cannot read audio {source!r}: {e}") from e
    if start is not None:
        a = int(round(start * sr))
        b = data.shape[0] if end is None or end < 0 else int(round(end * sr))
        data = data[a:b]
    if data.shape[0] == 0:
        raise AudioError(f"utterance {utt}: audio {source!r} is empty")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"utterance {utt}: audio {source!r} contains NaN/Inf samples")
    return np.ascontiguousarray(resample(wav, sr), dtype=np.float32)


def audio_info(utt: str, source: str):
    """(duration in seconds, sample rate) without decoding the whole file when possible."""
    try:
        if source.endswith("|"):
            data, sr = _read_source(source)
            return data.shape[0] / sr, sr
        info = sf.info(source)
        return info.frames / info.samplerate, info.samplerate
    except Exception as e:
        raise AudioError(f"utterance {utt}: cannot read audio {source!r}: {e}") from e
