import numpy as np
import soundfile as sf

from sertk.data.audio import load_audio


def test_resample_and_downmix(tmp_path):
    sr = 22050
    t = np.arange(sr) / sr
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, np.zeros_like(left)], 1).astype(np.float32)
    sf.write(tmp_path / "a.wav", stereo, sr)
    wav = load_audio("u", str(tmp_path / "a.wav"))
    assert wav.dtype == np.float32 and abs(len(wav) - 16000) <= 1
    # downmix = channel average; a 440 Hz tone keeps its frequency after resampling
    spec = np.abs(np.fft.rfft(wav))
    assert abs(np.argmax(spec) * 16000 / len(wav) - 440) < 2
    assert abs(np.abs(wav[2000:14000]).max() - 0.25) < 0.01


def test_pipe_and_segment(tmp_path):
    sf.write(tmp_path / "b.wav", np.ones(16000, dtype=np.float32) * 0.1, 16000)
    wav = load_audio("u", f"cat {tmp_path / 'b.wav'} |", start=0.25, end=0.5)
    assert len(wav) == 4000


def test_short_audio_is_refused_and_upsampling_is_logged(tmp_path, caplog):
    import pytest

    from sertk.data.audio import AudioError
    sf.write(tmp_path / "s.wav", np.ones(800, dtype=np.float32) * 0.1, 16000)
    with pytest.raises(AudioError, match=r"utterance u: audio .*s.wav' is 0.050 s long"):
        load_audio("u", str(tmp_path / "s.wav"))
    sf.write(tmp_path / "p.wav", np.ones(7999, dtype=np.float32) * 0.1, 7999)  # a rate no other test uses
    with caplog.at_level("WARNING"):
        assert abs(len(load_audio("u", str(tmp_path / "p.wav"))) - 16000) <= 2
    assert "audio at 7999 Hz is upsampled to 16000 Hz" in caplog.text
