"""Bad input through the command line: a clear message naming the utterance/file, exit != 0."""
import json
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


def test_subset_and_combine(synth, tmp_path):
    from sertk.data.datadir import DataDir
    from sertk.fileio import read_list
    r = invoke("data", "subset", synth, tmp_path / "acted_f", "--where", "utt2style=acted",
               "--where", "spk2gender=f", "--emotions", "angry,sad")
    assert r.exit_code == 0, r.output
    a = DataDir(tmp_path / "acted_f")
    assert set(a.table("utt2style").values()) == {"acted"} and set(a.table("spk2gender").values()) == {"f"}
    assert set(a.table("utt2emo").values()) == {"angry", "sad"}
    assert read_list(tmp_path / "acted_f" / "emotions.txt") == ["angry", "sad"]
    assert len(a.utts) == 4 * 2 * 2  # 4 female speakers x 2 emotions x 2 acted takes
    r = invoke("data", "subset", synth, tmp_path / "spont_m", "--where", "utt2style=spontaneous",
               "--where", "spk2gender=m", "--emotions", "angry,sad")
    r = invoke("data", "combine", tmp_path / "both", tmp_path / "acted_f", tmp_path / "spont_m")
    assert r.exit_code == 0, r.output
    both = DataDir(tmp_path / "both")
    assert len(both.utts) == 32 and set(both.table("utt2style").values()) == {"acted", "spontaneous"}
    r = invoke("data", "subset", synth, tmp_path / "none", "--where", "utt2style=improvised")
    assert r.exit_code != 0 and "has no utterance" in r.output
    r = invoke("data", "subset", synth, tmp_path / "bad", "--where", "utt2style")
    assert r.exit_code != 0 and "expected TABLE=V1,V2" in r.output


def test_train_refuses_bad_avd_labels(synth_folds, synth_fbank, tmp_path):
    import shutil
    for bad in ("0.1 nan 0.2", "0.1 inf 0.2", "high low 0.2", "0.1 0.2"):
        shutil.rmtree(tmp_path / "train", ignore_errors=True)
        shutil.copytree(synth_folds / "fold1" / "train", tmp_path / "train")
        t = read_table(tmp_path / "train" / "utt2avd")
        utt = sorted(t)[3]
        t[utt] = bad
        write_table(tmp_path / "train" / "utt2avd", t.items())
        r = invoke("train", "--train-dir", tmp_path / "train", "--valid-dir", synth_folds / "fold1" / "valid",
                   "--feat-dir", synth_fbank, "--exp-dir", tmp_path / "exp", "max_epochs=1")
        assert r.exit_code != 0, bad
        assert f"train/utt2avd: utterance {utt}: expected 3 finite numbers" in r.output and "Traceback" not in r.output


def test_infer_and_score_refuse_seen_speakers(synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    r = invoke("train", "--train-dir", fold / "train", "--valid-dir", fold / "valid", "--feat-dir", synth_fbank,
               "--exp-dir", tmp_path / "exp", "max_epochs=1")
    assert r.exit_code == 0, r.output
    model = tmp_path / "exp" / "best.pt"
    for split in ("train", "valid"):  # trained on, selected on: refused
        r = invoke("infer", "--model", model, "--feat-dir", synth_fbank, "--out", tmp_path / split, fold / split)
        assert r.exit_code != 0 and "were in this model's training or valid data" in r.output, r.output
    r = invoke("infer", "--model", model, "--feat-dir", synth_fbank, "--out", tmp_path / "test", fold / "test")
    assert r.exit_code == 0 and not (tmp_path / "test" / "seen_speakers.txt").exists()
    r = invoke("infer", "--model", model, "--feat-dir", synth_fbank, "--out", tmp_path / "valid",
               "--allow-seen-speakers", fold / "valid")
    assert r.exit_code == 0 and (tmp_path / "valid" / "seen_speakers.txt").read_text().split()
    args = ["--ref", fold / "valid" / "utt2emo", "--hyp", tmp_path / "valid" / "utt2emo_hyp",
            "--emotions", synth_folds / "fold1" / "train" / "emotions.txt", "--out", tmp_path / "score"]
    r = invoke("score", *args)
    assert r.exit_code != 0 and "not a test score" in r.output
    assert invoke("score", *args, "--allow-seen-speakers").exit_code == 0


def test_score_reads_labels_and_predictions_from_the_dirs(synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    r = invoke("train", "--train-dir", fold / "train", "--valid-dir", fold / "valid", "--feat-dir", synth_fbank,
               "--exp-dir", tmp_path / "exp", "max_epochs=1")
    assert r.exit_code == 0, r.output
    dec = tmp_path / "dec"
    assert invoke("infer", "--model", tmp_path / "exp" / "best.pt", "--feat-dir", synth_fbank, "--out", dec,
                  fold / "test").exit_code == 0
    emotions = ["--emotions", fold / "train" / "emotions.txt"]
    named = invoke("score", "--ref", fold / "test" / "utt2emo", "--hyp", dec / "utt2emo_hyp", *emotions,
                   "--out", tmp_path / "named")
    from_dirs = invoke("score", "--ref-dir", fold / "test", "--hyp-dir", dec, *emotions, "--out", tmp_path / "dirs")
    assert named.exit_code == 0 and from_dirs.exit_code == 0, from_dirs.output
    assert json.loads((tmp_path / "dirs" / "metrics.json").read_text()) == \
        json.loads((tmp_path / "named" / "metrics.json").read_text())
    (tmp_path / "empty").mkdir()  # no predictions in the hyp dir: one line, no traceback
    r = invoke("score", "--ref-dir", fold / "test", "--hyp-dir", tmp_path / "empty", *emotions, "--out", tmp_path / "x")
    assert r.exit_code != 0 and "--ref-dir/--hyp-dir" in r.output and "Traceback" not in r.output


def test_train_config_errors_name_key_and_file(synth_folds, synth_fbank, tmp_path):
    (tmp_path / "c.yaml").write_text("model: baseline\nscheduler: warmup_invsqrt\nscheduler_conf: {warmup_stpes: 5}\n")
    fold = synth_folds / "fold1"
    base = ["train", "--train-dir", fold / "train", "--valid-dir", fold / "valid", "--feat-dir", synth_fbank,
            "--exp-dir", tmp_path / "exp"]
    r = invoke(*base[:1], "--config", tmp_path / "c.yaml", *base[1:])
    assert r.exit_code != 0 and f"{tmp_path / 'c.yaml'}: unknown key(s) scheduler_conf.warmup_stpes" in r.output
    for override, message in [("optim_conf.lr=abc", "optim_conf.lr: expected a number, got 'abc'"),
                              ("optim_conf.momentun=0.9", "unknown key(s) optim_conf.momentun"),
                              ("model_conf.hiden=3", "unknown key(s) model_conf.hiden"),
                              ("batch_size=3.5", "batch_size: expected an integer")]:
        r = invoke(*base, override)
        assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "exp" / "train.done").exists()


def test_finished_training_refuses_another_config(synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    base = ["train", "--train-dir", fold / "train", "--valid-dir", fold / "valid", "--feat-dir", synth_fbank,
            "--exp-dir", tmp_path / "exp", "max_epochs=1"]
    assert invoke(*base).exit_code == 0
    assert invoke(*base).exit_code == 0  # the same config: a no-op
    r = invoke(*base, "optim_conf.lr=0.5")
    assert r.exit_code != 0 and "was trained with another config (optim_conf.lr 0.001 -> 0.5)" in r.output


def test_compare_cli_claims_and_one_line_errors(tmp_path):
    """`sertk compare --claims` writes the report; misuse is a one-line error, never a traceback."""
    conf = tmp_path / "egs" / "x" / "conf"
    conf.mkdir(parents=True)
    (conf / "claims.yaml").write_text("claims:\n  - {claim: c, reference: [exp/a], system: [exp/b]}\n")
    out = tmp_path / "REPRODUCTION.md"
    r = invoke("compare", "--claims", conf / "claims.yaml", "--out", out)
    assert r.exit_code == 0 and "not run (missing exp/a, exp/b" in out.read_text()
    for args in (["compare"], ["compare", "--claims", conf / "claims.yaml", "exp/a"],
                 ["compare", tmp_path / "nowhere", tmp_path / "nowhere2"]):
        r = invoke(*args)
        assert r.exit_code != 0 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_invalid_yaml_config_is_a_one_line_error(synth_folds, synth_fbank, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    fold = synth_folds / "fold1"
    r = invoke("train", "--config", bad, "--train-dir", fold / "train", "--valid-dir", fold / "valid",
               "--feat-dir", synth_fbank, "--exp-dir", tmp_path / "exp")
    assert r.exit_code != 0 and f"{bad}, line 2: not valid YAML" in r.output and "Traceback" not in r.output, r.output
