"""`sertk compare`: paired per-fold differences, refusal of unpaired runs."""
import json

import numpy as np
import pytest

from sertk.score.compare import bootstrap_interval, compare


def _results(path, uas, speakers=None):
    folds = [{"ua": u, "wa": u, "num_utts": 10, "speakers": [s]} for u, s in zip(uas, speakers or "abcdefgh")]
    path.mkdir(parents=True)
    (path / "RESULTS.json").write_text(json.dumps({"folds": folds, "pooled": {"ua": float(np.mean(uas))},
                                                   "summary": {}}))
    return path


def test_paired_differences_interval_and_plot(tmp_path):
    a = _results(tmp_path / "ref", [0.80, 0.70, 0.90, 0.60, 0.75, 0.85])
    b = _results(tmp_path / "new", [0.85, 0.74, 0.93, 0.66, 0.79, 0.86])
    text = compare([a, b], "ua", tmp_path / "cmp.md", tmp_path / "cmp.png")
    assert "| new | 80.50 | 80.50 (+3.83) | +3.83 | [+2.50, +5.00] | 0.0312 | 6 / 0 |" in text
    assert "+5.00 +4.00 +3.00 +6.00 +4.00 +1.00" in text
    assert (tmp_path / "cmp.png").stat().st_size > 0
    assert (tmp_path / "cmp.md").read_text() == text
    lo, hi = bootstrap_interval(np.array([5.0, 4, 3, 6, 4, 1]))
    assert 1 < lo < 3.83 < hi < 5.5


def test_unpaired_runs_are_refused(tmp_path):
    a = _results(tmp_path / "ref", [0.8, 0.7, 0.9])
    b = _results(tmp_path / "other", [0.8, 0.7, 0.9], speakers="xyz")
    with pytest.raises(ValueError, match="not scored on the same folds"):
        compare([a, b])
    with pytest.raises(ValueError, match="at least two"):
        compare([a])
