"""Bad input through the command line: a clear message naming the utterance/file, exit != 0."""
from click.testing import CliRunner

from sertk.cli import main
from sertk.fileio import read_table, write_table


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_validate_ok_and_missing_file(synth_copy):
    r = invoke("data", "validate", synth_copy)
    assert r.exit_code == 0 and "OK (128 utterances, 8 speakers" in r.output
    t = read_table(synth_copy / "wav.scp")
    t["spk05_happy_01"] = "/missing/file.wav"
    write_table(synth_copy / "wav.scp", t.items())
    r = invoke("data", "validate", synth_copy)
    assert r.exit_code != 0
    assert "utterance spk05_happy_01: cannot read audio '/missing/file.wav'" in r.output


def test_leakage_command(synth, tmp_path):
    from sertk.data.datadir import DataDir
    d = DataDir(synth)
    a = d.subset([u for u in d.utts if d.utt2spk[u] in ("spk01", "spk02")], tmp_path / "a")
    b = d.subset([u for u in d.utts if d.utt2spk[u] in ("spk02", "spk03")], tmp_path / "b")
    r = invoke("data", "leakage", a.path, b.path)
    assert r.exit_code != 0 and "speaker(s) spk02 appear in both train" in r.output
    c = d.subset([u for u in d.utts if d.utt2spk[u] == "spk04"], tmp_path / "c")
    assert invoke("data", "leakage", a.path, c.path).exit_code == 0


def test_extract_unknown_override(synth, tmp_path):
    (tmp_path / "e.yaml").write_text("upstream: s3prl\nupstream_conf: {name: fbank}\n")
    r = invoke("extract", "--config", tmp_path / "e.yaml", synth, tmp_path / "f", "batchsize=3")
    assert r.exit_code != 0 and "unknown key(s) ['batchsize']" in r.output


def test_infer_raw_audio_needs_extraction_config(synth_folds, synth_fbank, tmp_path):
    r = invoke("train", "--train-dir", synth_folds / "fold1" / "train", "--valid-dir", synth_folds / "fold1" / "valid",
               "--feat-dir", synth_fbank, "--exp-dir", tmp_path / "exp", "max_epochs=1")
    assert r.exit_code == 0, r.output
    wav = next(iter(read_table(synth_folds / "fold1" / "test" / "wav.scp").values()))
    r = invoke("infer", "--model", tmp_path / "exp" / "best.pt", "--out", tmp_path / "out", wav)
    assert r.exit_code != 0 and "raw audio needs the feature extraction config" in r.output
    r = invoke("infer", "--model", tmp_path / "exp" / "best.pt", "--out", tmp_path / "out",
               "--extract-config", synth_fbank / "extract.yaml", wav)
    assert r.exit_code == 0, r.output
    hyp = read_table(tmp_path / "out" / "utt2emo_hyp")
    assert list(hyp.values())[0] in ("angry", "happy", "neutral", "sad")
    assert (tmp_path / "out" / "predictions.json").exists()
