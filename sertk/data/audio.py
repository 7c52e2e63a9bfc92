"""Audio reading: every waveform leaves here as 16 kHz mono float32.

Multichannel audio is downmixed by averaging the channels (the usual choice of s3prl and
SpeechBrain recipes) after aligning their polarity to the first channel: two microphones of
one talker with one of them wired inverted would otherwise cancel in the average. `channel`
picks one channel instead (a mono file has just one, which is used whatever `channel` says).
Other sample rates are resampled with torchaudio's sinc resampler; audio below 16 kHz (8 kHz
telephone speech) is upsampled with a logged warning, as its top band stays empty. `level_dbfs`
scales each utterance to that RMS level (speakers recorded at different levels then look
alike). Audio shorter than MIN_SECONDS is refused: no emotion can be read from it.
"""
import functools
import io
import logging
import subprocess

import numpy as np
import soundfile as sf

TARGET_SR = 16000
MIN_SECONDS = 0.1
log = logging.getLogger("sertk.audio")


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


@functools.lru_cache(maxsize=None)
def _warn_upsampling(sr: int) -> None:  # once per rate and process, not once per file
    log.warning("audio at %d Hz is upsampled to %d Hz: its band above %d Hz is empty, unlike the "
                "wideband audio most upstreams were trained on", sr, TARGET_SR, sr // 2)


def resample(wav: np.ndarray, sr: int, target_sr: int = TARGET_SR) -> np.ndarray:
    if sr == target_sr:
        return wav
    if sr < target_sr == TARGET_SR:  # reading narrowband audio (not a deliberate resampling up)
        _warn_upsampling(sr)
    import torch

    with torch.no_grad():
        return _resampler(sr, target_sr)(torch.from_numpy(wav)).numpy()


def polarity(ref: np.ndarray, x: np.ndarray, max_lag: int = 32) -> float:
    """+1 or -1: the sign of the strongest cross-correlation of x with ref within +-max_lag
    samples (two microphones hear a talker a little apart in time, so the correlation at lag
    0 alone can be weak or of either sign)."""
    from scipy.signal import correlate

    c = correlate(x.astype(np.float64), ref.astype(np.float64), mode="full", method="fft")
    mid = len(ref) - 1
    window = c[max(0, mid - max_lag): mid + max_lag + 1]
    return -1.0 if window[np.argmax(np.abs(window))] < 0 else 1.0


def downmix(data: np.ndarray, channel="mean") -> np.ndarray:
    """(samples, channels) -> (samples,): the polarity-aligned mean, or one channel."""
    if data.shape[1] == 1:
        return data[:, 0]
    if channel != "mean":
        return data[:, int(channel)]
    signs = [1.0] + [polarity(data[:, 0], data[:, c]) for c in range(1, data.shape[1])]
    return (data * np.asarray(signs, dtype=data.dtype)).mean(axis=1)


def normalise_level(wav: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    return wav if rms < 1e-8 else wav * np.float32(10 ** (dbfs / 20) / rms)


def check_channel(channel) -> None:
    if channel != "mean" and not (isinstance(channel, int) and channel >= 0):
        raise ValueError(f"channel {channel!r}: use mean or a channel index (0, 1, ...)")


def load_audio(utt: str, source: str, start: float = None, end: float = None, channel="mean",
               level_dbfs: float = None) -> np.ndarray:
    """Load one utterance as 16 kHz mono float32, optionally cut to [start, end) seconds,
    downmixed (`channel`) and scaled to an RMS level (`level_dbfs`, None: as recorded)."""
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
    if data.shape[0] < MIN_SECONDS * sr:
        raise AudioError(f"utterance {utt}: audio {source!r} is {data.shape[0] / sr:.3f} s long; "
                         f"at least {MIN_SECONDS} s is needed")
    if channel != "mean" and data.shape[1] > 1 and int(channel) >= data.shape[1]:
        raise AudioError(f"utterance {utt}: audio {source!r} has {data.shape[1]} channels; "
                         f"channel {channel} asked for")
    wav = downmix(data, channel)
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"utterance {utt}: audio {source!r} contains NaN/Inf samples")
    wav = resample(wav, sr)
    if level_dbfs is not None:
        wav = normalise_level(wav, level_dbfs)
    return np.ascontiguousarray(wav, dtype=np.float32)


def audio_options(extract_conf) -> dict:
    """load_audio's keyword arguments from an extraction config (channel, level_dbfs)."""
    conf = extract_conf or {}
    if isinstance(conf, list):  # several streams read the same audio the same way
        conf = conf[0]
    opts = {"channel": conf.get("channel", "mean"), "level_dbfs": conf.get("level_dbfs")}
    check_channel(opts["channel"])
    level = opts["level_dbfs"]
    if level is not None and (isinstance(level, bool) or not isinstance(level, (int, float)) or level >= 0):
        raise ValueError(f"level_dbfs {level!r}: use a negative number (e.g. -25) or null")
    return opts


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
