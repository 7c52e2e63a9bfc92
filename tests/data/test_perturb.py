"""The hard-conditions transform on real EmoDB audio: per-speaker levels, stereo from two
microphones with inverted polarity in some files, and the polarity-aware downmix."""
import json

import numpy as np
import soundfile as sf

from sertk.data.audio import load_audio, polarity, resample
from sertk.data.datadir import DataDir, write_datadir
from sertk.data.perturb import harden


def _emodb_dir(emodb, tmp_path, n=12):
    wavs = sorted((emodb / "wav").glob("*.wav"))[::40][:n]
    rows = {"wav.scp": [(w.stem, str(w)) for w in wavs], "utt2spk": [(w.stem, w.stem[:2]) for w in wavs],
            "utt2emo": [(w.stem, "anger") for w in wavs]}
    write_datadir(tmp_path / "src" / "all", rows, {w.stem[:2]: "f" for w in wavs}, ["anger"])
    return tmp_path / "src" / "all"


def test_harden_levels_polarity_and_downmix_on_real_audio(emodb, tmp_path):
    src = _emodb_dir(emodb, tmp_path)
    rec = harden(src, tmp_path / "hard" / "all", gain_db=10, flip_fraction=0.5, mono_fraction=0.1, seed=3)
    out = DataDir(tmp_path / "hard" / "all")
    assert out.utts == DataDir(src).utts and (tmp_path / "hard" / "emotions.txt").exists()
    assert json.loads((tmp_path / "hard" / "all" / "perturbation.json").read_text()) == rec
    gains = rec["speaker_gain_db"]
    assert len(set(gains.values())) == len(gains) and all(abs(g) <= 10 for g in gains.values())
    assert rec["flipped_polarity"], "seed 3 flips some files"
    for u in out.utts:
        orig, sr = sf.read(DataDir(src).tables["wav.scp"][u], dtype="float32")
        new, sr2 = sf.read(out.tables["wav.scp"][u], dtype="float32", always_2d=True)
        assert sr2 == sr and len(new) == len(orig)
        level = 20 * np.log10(np.sqrt(np.mean(new[:, 0] ** 2)) / np.sqrt(np.mean(orig ** 2)))
        assert abs(level - gains[u[:2]]) < 0.01, u  # one gain per speaker, nothing clipped
        if u in rec["mono"]:
            assert new.shape[1] == 1
            continue
        assert polarity(new[:, 0], new[:, 1]) == (-1 if u in rec["flipped_polarity"] else 1), u
        # the polarity-aware downmix keeps the talker; a plain mean of a flipped file cancels it
        mixed = load_audio(u, out.tables["wav.scp"][u])
        plain = new.mean(1)
        ref = orig * 10 ** (gains[u[:2]] / 20)
        keep = np.sqrt(np.mean(mixed ** 2)) / np.sqrt(np.mean(ref ** 2))
        assert keep > 0.6, (u, keep)  # (1 + a) / 2 with a >= 0.5, less a little comb filtering
        if u in rec["flipped_polarity"]:
            assert np.sqrt(np.mean(plain ** 2)) < 0.6 * np.sqrt(np.mean(mixed ** 2))


def test_crop_cuts_each_file_and_leaves_the_rest_as_without_it(emodb, tmp_path):
    src = _emodb_dir(emodb, tmp_path, n=6)
    plain = harden(src, tmp_path / "a" / "all", seed=3)
    rec = harden(src, tmp_path / "b" / "all", seed=3, crop_ms=250)
    assert {k: v for k, v in rec.items() if k not in ("crop_ms", "cropped_samples")} == \
        {k: v for k, v in plain.items() if k not in ("crop_ms", "cropped_samples")}  # same gains, flips, monos
    for u, (a, b) in rec["cropped_samples"].items():  # samples cut off the start and the end
        full, sr = sf.read(DataDir(tmp_path / "a" / "all").tables["wav.scp"][u], dtype="float32", always_2d=True)
        cut, _ = sf.read(DataDir(tmp_path / "b" / "all").tables["wav.scp"][u], dtype="float32", always_2d=True)
        assert 0 <= a <= 0.25 * sr and 0 <= b <= 0.25 * sr and len(cut) == len(full) - a - b
        np.testing.assert_allclose(cut[:, 0], full[a: a + len(cut), 0], atol=1e-6)


def test_channel_choice_and_level_normalisation(emodb, tmp_path):
    src = _emodb_dir(emodb, tmp_path, n=3)
    harden(src, tmp_path / "hard" / "all", flip_fraction=1.0, mono_fraction=0.0, seed=0)
    out = DataDir(tmp_path / "hard" / "all")
    u = out.utts[0]
    new, sr = sf.read(out.tables["wav.scp"][u], dtype="float32", always_2d=True)
    ch1 = load_audio(u, out.tables["wav.scp"][u], channel=1)
    assert np.allclose(ch1, resample(np.ascontiguousarray(new[:, 1]), sr), atol=1e-6)
    quiet = load_audio(u, out.tables["wav.scp"][u], level_dbfs=-30)
    assert abs(20 * np.log10(np.sqrt(np.mean(quiet.astype(np.float64) ** 2))) + 30) < 0.01


def test_bad_audio_options_are_refused_before_extraction(synth, tmp_path):
    import pytest

    from sertk.features.config import load_extract_config
    from sertk.features.extract import extract

    for bad, msg in (("channel=left", "channel"), ("level_dbfs=loud", "level_dbfs"), ("level_dbfs=3", "level_dbfs")):
        conf = load_extract_config(overrides=["upstream=s3prl", "upstream_conf.name=fbank_no_cmvn", bad])
        with pytest.raises(ValueError, match=msg):
            extract(synth, tmp_path / "out", conf)
        assert not (tmp_path / "out").exists()
