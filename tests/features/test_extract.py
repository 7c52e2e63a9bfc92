import kaldiio
import numpy as np
import pytest

from sertk.features import extract as extract_mod
from sertk.features.config import load_extract_config
from sertk.data.feature_reader import FeatureReader
from sertk.features.extract import extract


def _conf(**kw):
    return load_extract_config(overrides=["upstream=s3prl", "upstream_conf.name=fbank_no_cmvn", "chunk_utts=40"]
                               + [f"{k}={v}" for k, v in kw.items()])


def test_extract_writes_all_utts_once(synth, synth_fbank):
    r = FeatureReader(synth_fbank)
    assert len(r.scp) == 128 and r.L == 1 and r.D == 240
    x = r["spk01_angry_00"]
    assert x.shape == (1, r.lengths["spk01_angry_00"], 240)
    assert (synth_fbank / "extract.yaml").exists()
    # Kaldi binary format: kaldiio reads it as a plain 2-D matrix; paths are relative to the dir
    assert r.scp["spk01_angry_00"].startswith("chunks/")
    assert kaldiio.load_mat(str(synth_fbank / r.scp["spk01_angry_00"])).shape == (x.shape[1], 240)


def test_feature_dir_can_be_moved(synth_fbank, tmp_path):
    import shutil

    moved = tmp_path / "elsewhere"
    shutil.copytree(synth_fbank, moved)
    np.testing.assert_array_equal(FeatureReader(moved)["spk02_sad_01"], FeatureReader(synth_fbank)["spk02_sad_01"])


def test_sharded_extraction_equals_single_run(synth, synth_fbank, tmp_path):
    conf = _conf()
    assert extract(synth, tmp_path / "f", conf, nj=3, job=2) is False  # others pending
    assert extract(synth, tmp_path / "f", conf, nj=3, job=1) is False
    assert extract(synth, tmp_path / "f", conf, nj=3, job=3) is True   # last shard merges
    a, b = FeatureReader(synth_fbank), FeatureReader(tmp_path / "f")
    for u in ["spk01_angry_00", "spk08_sad_03"]:
        np.testing.assert_array_equal(a[u], b[u])


def test_interrupted_extraction_resumes(synth, tmp_path, monkeypatch):
    conf = _conf()
    real = extract_mod.extract_chunk
    calls = []

    def crash_on_third(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed in the middle of the third chunk
        return real(*a, **k)

    monkeypatch.setattr(extract_mod, "extract_chunk", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        extract(synth, tmp_path / "f", conf)
    assert not (tmp_path / "f" / "feats.scp").exists()
    assert len(list((tmp_path / "f" / "chunks").glob("*.scp"))) == 2
    calls.clear()
    monkeypatch.setattr(extract_mod, "extract_chunk", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert extract(synth, tmp_path / "f", conf)
    assert len(calls) == 2  # 128 utts / 40 = 4 chunks, 2 were finished before the crash
    ref = tmp_path / "ref"
    extract(synth, ref, conf)
    a, b = FeatureReader(tmp_path / "f"), FeatureReader(ref)
    assert a.scp.keys() == b.scp.keys()
    for u in a.scp:
        np.testing.assert_array_equal(a[u], b[u])


def test_rerun_with_other_config_is_refused(synth, tmp_path):
    conf = _conf()
    (tmp_path / "f").mkdir()
    from sertk.config import dump_yaml
    dump_yaml(conf, tmp_path / "f" / "extract.yaml")
    with pytest.raises(ValueError, match="features of another config"):
        extract(synth, tmp_path / "f", _conf(dtype="float16"))


def test_float16_storage(synth_copy, tmp_path):
    from sertk.data.datadir import DataDir
    d = DataDir(synth_copy).subset(DataDir(synth_copy).utts[:5], tmp_path / "small")
    assert extract(d.path, tmp_path / "f", _conf(dtype="float16"))
    x = FeatureReader(tmp_path / "f")[d.utts[0]]
    assert x.dtype == np.float32 and x.shape[0] == 1


def test_nan_features_are_refused(synth_copy, tmp_path, monkeypatch):
    from sertk.data.datadir import DataDir
    from sertk.features import upstreams

    d = DataDir(synth_copy).subset(DataDir(synth_copy).utts[:4], tmp_path / "small")

    class NaNUpstream(upstreams.Upstream):
        def __call__(self, wavs):
            return [np.full((1, 5, 3), np.nan, dtype=np.float32) for _ in wavs]

    monkeypatch.setitem(upstreams.UPSTREAMS, "nan", NaNUpstream)
    conf = load_extract_config(overrides=["upstream=nan"])
    with pytest.raises(ValueError, match=r"utterance spk01_angry_0\d: upstream produced NaN/Inf"):
        extract(d.path, tmp_path / "f", conf)


def test_nan_in_stored_features_is_refused(synth, synth_fbank, tmp_path):
    bad = tmp_path / "feats"
    bad.mkdir()
    for f in ("feats_meta.json", "utt2num_frames"):
        (bad / f).write_text((synth_fbank / f).read_text())
    kaldiio.save_ark(str(bad / "x.ark"), {"spk01_angry_00": np.full((3, 240), np.nan, dtype=np.float32)},
                     scp=str(bad / "feats.scp"))
    with pytest.raises(ValueError, match="utterance spk01_angry_00: NaN/Inf in stored features"):
        FeatureReader(bad)["spk01_angry_00"]


def test_finished_extraction_refuses_other_config(synth, synth_fbank, tmp_path):
    """A finished dump answers for its own config only: another one is refused, not skipped."""
    import shutil

    from sertk.config import yaml_load
    shutil.copytree(synth_fbank, tmp_path / "f")
    conf = yaml_load((tmp_path / "f" / "extract.yaml").read_text())
    assert extract(synth, tmp_path / "f", conf)  # the same config: finished, a no-op
    with pytest.raises(ValueError, match=r"features of another config .*dtype 'float32' -> 'float16'"):
        extract(synth, tmp_path / "f", {**conf, "dtype": "float16"})
