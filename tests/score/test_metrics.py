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


def test_missing_hypothesis(tmp_path):
    (tmp_path / "ref").write_text("u1 a\nu2 b\n")
    (tmp_path / "hyp").write_text("u1 a\n")
    with pytest.raises(ValueError, match="no hypothesis for 1 utterance.*u2"):
        score_dir(tmp_path / "ref", tmp_path / "hyp", ["a", "b"], tmp_path / "out")
