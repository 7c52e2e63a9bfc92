"""Kept scores (sertk/score/kept.py): a fold's record round-trips to the same RESULTS, records from
other inputs and bad files are refused in one line, and a rebuild never writes into a run."""
import json

import pytest

from sertk.score.kept import keep_fold, rebuild, restore_decode, restore_fold
from sertk.score.report import aggregate


def _fold(exp, f, ua):
    d = exp / f"fold{f}"
    (d / "score_test").mkdir(parents=True)
    (d / "train.inputs").write_text("abc123 seed=1 dump/x\n")
    (d / "config.yaml").write_text("model: linear\n")
    cm = [[5, 1], [int(10 * (1 - ua)), int(10 * ua)]]
    m = {"num_utts": 16, "wa": 0.7, "ua": ua, "macro_f1": ua, "weighted_f1": ua, "labels": ["a", "b"],
         "confusion": cm, "recall": {"a": 5 / 6, "b": ua}, "speakers": [f"s{f}"]}
    (d / "score_test" / "metrics.json").write_text(json.dumps(m))
    return d


def test_kept_folds_rebuild_the_same_results(tmp_path):
    exp = tmp_path / "exp" / "sys"
    dirs = [_fold(exp, f, ua) for f, ua in ((1, 0.5), (2, 0.8), (3, 0.6))]
    run = aggregate([d / "score_test" for d in dirs], exp / "RESULTS.md", "sys", command="./run.sh", git="abc")
    for f, d in enumerate(dirs, 1):
        keep_fold(d, tmp_path / "kept", f, "test", "abc", "./run.sh")
    again = json.loads(rebuild(tmp_path / "kept", "sys", tmp_path / "rebuilt").read_text())
    assert again["folds"] == run["folds"] and again["pooled"] == run["pooled"] and again["summary"] == run["summary"]
    assert again["provenance"]["command"] == "./run.sh" and set(again["provenance"]["kept_folds"]) == {"fold1", "fold2", "fold3"}
    with pytest.raises(ValueError, match="exists: rebuild writes only where no run is"):
        rebuild(tmp_path / "kept", "sys", tmp_path / "exp")
    with pytest.raises(ValueError, match="no kept fold"):
        rebuild(tmp_path / "kept", "other", tmp_path / "rebuilt2")
    some = json.loads(rebuild(tmp_path / "kept", "sys", tmp_path / "rebuilt3", folds=[1, 3]).read_text())
    assert some["folds"] == [run["folds"][0], run["folds"][2]]
    assert "(folds 1 3 of" not in (tmp_path / "rebuilt3" / "sys" / "RESULTS.md").read_text()  # no num_folds kept
    with pytest.raises(ValueError, match=r"sys: fold\(s\) 4 not kept"):
        rebuild(tmp_path / "kept", "sys", tmp_path / "rebuilt4", folds=[1, 4])


def test_restore_refuses_other_inputs_and_bad_records(tmp_path):
    exp = tmp_path / "exp" / "sys"
    keep_fold(_fold(exp, 1, 0.5), tmp_path / "kept", 1, "test", "abc")
    fresh = tmp_path / "fresh" / "sys" / "fold1"
    assert restore_fold(fresh, tmp_path / "kept", 2, "test", "abc123 seed=1 dump/x") is None  # nothing kept
    assert restore_fold(fresh, tmp_path / "kept", 1, "test", "abc123 seed=1 dump/x")["metrics"]["ua"] == 0.5
    assert json.loads((fresh / "score_test" / "kept.json").read_text())["git"] == "abc"
    with pytest.raises(ValueError, match=r"fold1.json: fold 1 was kept from other inputs .*seed=2"):
        restore_fold(fresh, tmp_path / "kept", 1, "test", "abc123 seed=2 dump/x")
    (tmp_path / "kept" / "sys" / "fold1.json").write_text("{not json")
    with pytest.raises(ValueError, match="fold1.json: not a kept-scores record"):
        restore_fold(fresh, tmp_path / "kept", 1, "test", "abc123 seed=1 dump/x")


def test_rescoring_a_kept_fold_keeps_its_record(tmp_path):
    """A rerun scores a finished fold again: an unchanged fold's record keeps the commit it was
    first kept at; a changed score replaces it."""
    exp = tmp_path / "exp" / "sys"
    d = _fold(exp, 1, 0.5)
    path = keep_fold(d, tmp_path / "kept", 1, "test", "first")
    keep_fold(d, tmp_path / "kept", 1, "test", "second")
    assert json.loads(path.read_text())["git"] == "first"
    m = json.loads((d / "score_test" / "metrics.json").read_text())
    (d / "score_test" / "metrics.json").write_text(json.dumps({**m, "ua": 0.9}))
    keep_fold(d, tmp_path / "kept", 1, "test", "third")
    rec = json.loads(path.read_text())
    assert rec["git"] == "third" and rec["metrics"]["ua"] == 0.9


def test_a_record_keeps_the_fold_outputs_fusion_reads(tmp_path):
    """The record holds the fold's posteriors (what utils/fuse_runs.sh fuses), written back byte
    for byte with the training inputs; a record kept before outputs were kept gains them on a
    rescore (keeping its commit), and until then is refused in one line."""
    d = _fold(tmp_path / "exp" / "sys", 1, 0.5)
    path = keep_fold(d, tmp_path / "kept", 1, "test", "first")  # no decode yet: an old record
    assert "decode" not in json.loads(path.read_text())
    with pytest.raises(ValueError, match="fold1.json: kept without its test outputs"):
        restore_decode(tmp_path / "kept", "sys", 1, "test", tmp_path / "m")
    posteriors = "# utt a b\nu1 0.25000 0.75000\nu2 0.90000 0.10000\n"
    (d / "decode_test").mkdir()
    (d / "decode_test" / "posteriors.txt").write_text(posteriors)
    (d / "decode_test" / "predictions.json").write_text("[]")  # not needed for fusion: not kept
    keep_fold(d, tmp_path / "kept", 1, "test", "second")
    rec = json.loads(path.read_text())
    assert rec["git"] == "first" and set(rec["decode"]) == {"posteriors.txt"}
    assert restore_decode(tmp_path / "kept", "sys", 1, "test", tmp_path / "m")
    assert (tmp_path / "m" / "decode_test" / "posteriors.txt").read_text() == posteriors
    assert (tmp_path / "m" / "train.inputs").read_text() == "abc123 seed=1 dump/x\n"
    assert not restore_decode(tmp_path / "kept", "sys", 2, "test", tmp_path / "m2")  # nothing kept
    rec["decode"]["../../escaped.txt"] = "x"  # a hand-edited record: refused before anything is written
    path.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="unknown decode file '../../escaped.txt'"):
        restore_decode(tmp_path / "kept", "sys", 1, "test", tmp_path / "m3")
    assert not (tmp_path / "m3").exists() and not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize("command", ["save", "rebuild"])
def test_bad_fold_numbers_are_one_line_errors(command, tmp_path):
    from click.testing import CliRunner
    from sertk.cli import main
    keep_fold(_fold(tmp_path / "exp" / "sys", 1, 0.5), tmp_path / "kept", 1, "test", "abc")
    args = {"save": ["--exp-dir", str(tmp_path / "exp" / "sys"), "--to", str(tmp_path / "kept2")],
            "rebuild": ["--from", str(tmp_path / "kept"), "--exp-root", str(tmp_path / "out"), "sys"]}[command]
    r = CliRunner().invoke(main, ["keep-scores", command, *args, "--folds", "1 two"])
    assert r.exit_code == 1 and "--folds '1 two': fold numbers separated by spaces" in r.output
    assert "Traceback" not in r.output
