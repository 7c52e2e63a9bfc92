import numpy as np
import pytest
import soundfile as sf

from sertk.data.datadir import DataDirError
from sertk.data.validate import validate_datadir
from sertk.fileio import read_table, write_table


def _edit(d, name, fn):
    t = read_table(d / name)
    fn(t)
    write_table(d / name, t.items())


def test_valid_corpus_passes_and_writes_durations(synth_copy):
    d = validate_datadir(synth_copy, write_utt2dur=True)
    durs = [float(x) for x in d.tables["utt2dur"].values()]
    assert len(durs) == 128 and 0.7 < min(durs) and max(durs) < 2.3


def test_missing_audio_file_names_utterance(synth_copy):
    _edit(synth_copy, "wav.scp", lambda t: t.update(spk01_angry_00="/nonexistent/x.wav"))
    with pytest.raises(DataDirError, match=r"utterance spk01_angry_00: cannot read audio '/nonexistent/x.wav'"):
        validate_datadir(synth_copy)


def test_corrupt_audio(synth_copy, tmp_path):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    _edit(synth_copy, "wav.scp", lambda t: t.update(spk02_sad_01=str(bad)))
    with pytest.raises(DataDirError, match=r"utterance spk02_sad_01: cannot read audio .*corrupt.wav"):
        validate_datadir(synth_copy)


def test_empty_audio(synth_copy, tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    _edit(synth_copy, "wav.scp", lambda t: t.update(spk03_happy_02=str(empty)))
    with pytest.raises(DataDirError, match=r"utterance spk03_happy_02: audio .*empty.wav' is empty"):
        validate_datadir(synth_copy)


def test_unknown_label(synth_copy):
    _edit(synth_copy, "utt2emo", lambda t: t.update(spk01_happy_01="joyful"))
    with pytest.raises(DataDirError, match=r"utt2emo: utterance spk01_happy_01: unknown emotion 'joyful'"):
        validate_datadir(synth_copy, check_audio=False)


def test_missing_utterance_in_table(synth_copy):
    _edit(synth_copy, "utt2emo", lambda t: t.pop("spk04_sad_03"))
    with pytest.raises(DataDirError, match=r"utt2emo: utterance spk04_sad_03 missing"):
        validate_datadir(synth_copy, check_audio=False)


def test_unsorted_file(synth_copy):
    lines = (synth_copy / "utt2spk").read_text().splitlines()
    (synth_copy / "utt2spk").write_text("\n".join(reversed(lines)) + "\n")
    with pytest.raises(DataDirError, match="keys not sorted"):
        validate_datadir(synth_copy, check_audio=False)


def test_bad_gender_and_avd(synth_copy):
    _edit(synth_copy, "spk2gender", lambda t: t.update(spk01="x"))
    _edit(synth_copy, "utt2avd", lambda t: t.update(spk01_sad_00="0.1 nan 0.2"))
    with pytest.raises(DataDirError) as e:
        validate_datadir(synth_copy, check_audio=False)
    assert "speaker spk01: gender 'x' not m/f" in str(e.value)
    assert "utterance spk01_sad_00: expected 3 finite floats" in str(e.value)


def test_too_short_audio_and_narrowband_warning(synth_copy, tmp_path, caplog):
    short = tmp_path / "short.wav"
    sf.write(short, 0.1 * np.ones(800, dtype=np.float32), 16000)  # 0.05 s
    _edit(synth_copy, "wav.scp", lambda t: t.update(spk03_happy_02=str(short)))
    with pytest.raises(DataDirError, match=r"utterance spk03_happy_02: audio .*short.wav' is 0.050 s long"):
        validate_datadir(synth_copy)
    _edit(synth_copy, "wav.scp", lambda t: t.update(spk03_happy_02=str(t["spk03_happy_01"])))
    with caplog.at_level("WARNING"):  # the synthetic corpus has 8 kHz files: accepted, with a word
        validate_datadir(synth_copy)
    assert "audio at 8000 Hz (e.g. utterance spk" in caplog.text and "will be upsampled" in caplog.text
