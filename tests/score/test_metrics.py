import json

import numpy as np
import pytest

from sertk.score.metrics import ccc, classification_metrics
from sertk.score.report import aggregate, score_dir


def test_classification_metrics_by_hand():
    ref = ["a", "a", "a", "a", "b", "b", "c", "c"]
    hyp = ["a", "a", "a", "b", "b", "a", "c", "a"]
    m = classification_metrics(ref, hyp, ["a", "b", "c"])
    assert m["wa"] == pytest.approx(5 / 8)
    assert m["ua"] == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
    # F1: a: p=3/5 r=3/4 -> 2/3; b: p=1/2 r=1/2; c: p=1 r=1/2 -> 2/3
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert m["confusion"] == [[3, 1, 0], [1, 1, 0], [1, 0, 1]]


def test_ua_ignores_classes_absent_from_reference():
    m = classification_metrics(["a", "a", "b"], ["a", "c", "b"], ["a", "b", "c"])
    assert m["ua"] == pytest.approx((0.5 + 1.0) / 2)
    assert set(m["recall"]) == {"a", "b"}


def test_ccc():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert ccc(x, x) == pytest.approx(1.0)
    assert ccc(x, x + 1) == pytest.approx(2 * 1.25 / (1.25 + 1.25 + 1))
    assert ccc(x, -x) == pytest.approx(-2 * 1.25 / (1.25 + 1.25 + 25))


def test_score_and_aggregate(tmp_path):
    labels = ["a", "b"]
    dirs = []
    for i, hyp in enumerate([["a", "b", "b", "b"], ["a", "a", "b", "b"]]):
        (tmp_path / f"ref{i}").write_text("u1 a\nu2 a\nu3 b\nu4 b\n")
        (tmp_path / f"hyp{i}").write_text("".join(f"u{j + 1} {h}\n" for j, h in enumerate(hyp)))
        d = tmp_path / f"fold{i + 1}" / "score_test"
        score_dir(tmp_path / f"ref{i}", tmp_path / f"hyp{i}", labels, d)
        assert (d / "confusion.png").stat().st_size > 1000
        dirs.append(d)
    r = aggregate(dirs, tmp_path / "RESULTS.md", "toy", command="./run.sh")
    assert r["summary"]["wa"]["mean"] == pytest.approx((0.75 + 1.0) / 2)
    assert r["summary"]["wa"]["std"] == pytest.approx(np.std([0.75, 1.0], ddof=1))
    assert r["pooled"]["confusion"] == [[3, 1], [0, 4]]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "87.5 ± 17.7" in text and "| fold1 (4 utts)" in text and "`./run.sh`" in text
    assert json.loads((tmp_path / "RESULTS.json").read_text())["summary"]["ua"]["mean"] == pytest.approx(0.875)
    # per-class true positive rates: a = 1/2 then 2/2 (pooled 3/4), b = 2/2 twice
    assert r["pooled"]["recall"] == {"a": 0.75, "b": 1.0}
    assert "| a | 2 | 75.0 ± 35.4 | 75.0 |" in text and "| b | 2 | 100.0 ± 0.0 | 100.0 |" in text
    # per-fold rows in natural order, whatever order the dirs come in (fold10 after fold2)
    (tmp_path / "fold10").mkdir()
    (tmp_path / "fold1" / "score_test").rename(tmp_path / "fold10" / "score_test")
    aggregate(sorted([tmp_path / "fold10" / "score_test", dirs[1]], key=str), tmp_path / "R2.md", "toy")
    rows = [l.split(" (")[0] for l in (tmp_path / "R2.md").read_text().splitlines() if l.startswith("| fold")]
    assert rows == ["| fold2", "| fold10"]
    # one fold has no spread: no "± 0.0" in its summary row
    aggregate([dirs[1]], tmp_path / "R1.md", "one")
    row = next(l for l in (tmp_path / "R1.md").read_text().splitlines() if l.startswith("| **mean"))
    assert row.startswith("| **mean** |") and "±" not in row
    from sertk.score.report import summarize
    table = summarize([tmp_path / "RESULTS.json", tmp_path / "RESULTS.json"], per_class=True)
    assert "| a | 75.0 | 75.0 |" in table and "Pooled per-class recall" in table
    assert summarize([tmp_path, tmp_path / "RESULTS.json"]) == summarize([tmp_path / "RESULTS.json"] * 2)  # exp dir


def test_missing_hypothesis(tmp_path):
    (tmp_path / "ref").write_text("u1 a\nu2 b\n")
    (tmp_path / "hyp").write_text("u1 a\n")
    with pytest.raises(ValueError, match="no hypothesis for 1 utterance.*u2"):
        score_dir(tmp_path / "ref", tmp_path / "hyp", ["a", "b"], tmp_path / "out")


def test_continuous_scores_pooled_ccc_and_unlabelled_utterances(tmp_path):
    rng = np.random.default_rng(0)
    dirs, refs, hyps = [], [], []
    for i in range(2):
        ref = rng.normal(3, 1, (6, 3))
        hyp = ref + rng.normal(0, 0.5, (6, 3))
        refs.append(ref[1:]), hyps.append(hyp[1:])
        rows = ["u0 - - -"] + [f"u{j} " + " ".join(map(str, r)) for j, r in enumerate(ref) if j]
        (tmp_path / f"ref{i}").write_text("\n".join(rows) + "\n")
        (tmp_path / f"hyp{i}").write_text("".join(f"u{j} " + " ".join(map(str, h)) + "\n" for j, h in enumerate(hyp)))
        # categorical references exist only for some utterances: '-' is left out
        (tmp_path / f"emo{i}").write_text("u0 a\nu1 b\nu2 -\nu3 a\nu4 b\nu5 a\n")
        (tmp_path / f"emohyp{i}").write_text("u0 a\nu1 b\nu2 a\nu3 a\nu4 a\nu5 a\n")
        d = tmp_path / f"fold{i + 1}" / "score_test"
        m = score_dir(tmp_path / f"emo{i}", tmp_path / f"emohyp{i}", ["a", "b"], d,
                      tmp_path / f"ref{i}", tmp_path / f"hyp{i}")
        assert m["ccc_v"] == pytest.approx(ccc(hyp[1:, 0], ref[1:, 0]))
        assert m["ua"] == pytest.approx((1.0 + 0.5) / 2) and sum(map(sum, m["confusion"])) == 5
        assert m["num_utts"] == 6  # scored for at least one label kind
        assert (d / "avd_scatter.png").stat().st_size > 1000
        dirs.append(d)
    r = aggregate(dirs, tmp_path / "RESULTS.md", "toy")
    pooled_ref, pooled_hyp = np.concatenate(refs), np.concatenate(hyps)
    assert r["pooled"]["ccc_a"] == pytest.approx(ccc(pooled_hyp[:, 1], pooled_ref[:, 1]))
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| mean CCC |" in text and "| UA |" in text and f"{r['summary']['ccc']['mean']:.3f}" in text
    assert (tmp_path / "RESULTS_avd_scatter.png").exists() and (tmp_path / "RESULTS_confusion.png").exists()
    assert "avd_ref" not in json.dumps(json.loads((tmp_path / "RESULTS.json").read_text())["folds"])


def test_aggregate_records_provenance(tmp_path):
    (tmp_path / "ref").write_text("u1 a\nu2 b\n")
    (tmp_path / "hyp").write_text("u1 a\nu2 a\n")
    score_dir(tmp_path / "ref", tmp_path / "hyp", ["a", "b"], tmp_path / "fold1" / "score_test")
    (tmp_path / "config.yaml").write_text("model: linear\nseed: 3\n")
    aggregate([tmp_path / "fold1" / "score_test"], tmp_path / "RESULTS.md", "toy",
              command="EMODB=/data/emodb ./run.sh --train_args seed=3", inner_command="./ser.sh --num_folds 10",
              resolved_configs=[tmp_path / "config.yaml"], git="abc1234-dirty")
    p = json.loads((tmp_path / "RESULTS.json").read_text())["provenance"]
    assert p["command"] == "EMODB=/data/emodb ./run.sh --train_args seed=3" and p["git"] == "abc1234-dirty"
    assert p["resolved_configs"] == {str(tmp_path / "config.yaml"): "model: linear\nseed: 3\n"}
    text = (tmp_path / "RESULTS.md").read_text()
    assert "- command: `EMODB=/data/emodb ./run.sh --train_args seed=3`" in text
    assert "- git: `abc1234-dirty`" in text and "seed: 3" in text
