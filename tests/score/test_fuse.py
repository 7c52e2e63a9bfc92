"""Late fusion of decode dirs (sertk/score/fuse.py, `sertk fuse`): the mean of the runs' outputs
for the same utterances, refused when the runs do not line up."""
import numpy as np
import pytest
from click.testing import CliRunner

from sertk.cli import main
from sertk.data.datadir import SEEN_SPEAKERS
from sertk.score.decode_dir import read_posteriors
from sertk.score.fuse import fuse_decodes

CLASSES = ["anger", "neutral", "sadness"]


def _decode(d, post=None, avd=None, classes=CLASSES):
    d.mkdir(parents=True)
    if post is not None:
        (d / "posteriors.txt").write_text("# utt " + " ".join(classes) + "\n" + "".join(
            f"{u} " + " ".join(f"{p:.5f}" for p in v) + "\n" for u, v in post.items()))
    if avd is not None:
        (d / "utt2avd_hyp").write_text("".join(f"{u} " + " ".join(map(str, v)) + "\n" for u, v in avd.items()))
    return d


def test_mean_of_posteriors_and_avd(tmp_path):
    a = _decode(tmp_path / "a", {"u1": [0.6, 0.4, 0.0], "u2": [0.1, 0.1, 0.8]}, {"u1": [1, 2, 3], "u2": [3, 3, 3]})
    b = _decode(tmp_path / "b", {"u1": [0.0, 0.7, 0.3], "u2": [0.2, 0.1, 0.7]}, {"u1": [3, 2, 1], "u2": [1, 1, 1]})
    done = fuse_decodes([a, b], tmp_path / "f")
    assert done == {"posteriors.txt": 2, "utt2avd_hyp": 2}
    classes, post = read_posteriors(tmp_path / "f" / "posteriors.txt")
    assert classes == CLASSES
    np.testing.assert_allclose(post["u1"], [0.3, 0.55, 0.15])
    np.testing.assert_allclose(post["u2"], [0.15, 0.1, 0.75])
    # each run alone says anger for u1 in one and neutral in the other: the mean decides
    assert (tmp_path / "f" / "utt2emo_hyp").read_text() == "u1 neutral\nu2 sadness\n"
    avd = dict(line.split(" ", 1) for line in (tmp_path / "f" / "utt2avd_hyp").read_text().splitlines())
    assert [float(v) for v in avd["u1"].split()] == [2.0, 2.0, 2.0]
    assert not (tmp_path / "f" / SEEN_SPEAKERS).exists()


def test_refuses_runs_that_do_not_line_up(tmp_path):
    a = _decode(tmp_path / "a", {"u1": [0.5, 0.5, 0.0], "u2": [0.1, 0.1, 0.8]})
    other_utts = _decode(tmp_path / "b", {"u1": [0.5, 0.5, 0.0], "u3": [0.1, 0.1, 0.8]})
    other_classes = _decode(tmp_path / "c", {"u1": [0.5, 0.5, 0.0], "u2": [0.1, 0.1, 0.8]},
                            classes=["anger", "sadness", "neutral"])
    no_post = _decode(tmp_path / "d", avd={"u1": [1, 2, 3], "u2": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"b/posteriors.txt: other utterances .*u2"):
        fuse_decodes([a, other_utts], tmp_path / "f")
    with pytest.raises(ValueError, match=r"c/posteriors.txt: classes anger sadness neutral differ"):
        fuse_decodes([a, other_classes], tmp_path / "f")
    with pytest.raises(ValueError, match=r"d: no posteriors.txt"):
        fuse_decodes([a, no_post], tmp_path / "f")
    with pytest.raises(ValueError, match="at least two"):
        fuse_decodes([a], tmp_path / "f")
    bad = _decode(tmp_path / "e")
    (bad / "posteriors.txt").write_text("# utt " + " ".join(CLASSES) + "\nu1 0.5 0.5\n")
    with pytest.raises(ValueError, match=r"e/posteriors.txt:2: u1: expected 3 posteriors"):
        fuse_decodes([a, bad], tmp_path / "f")


def test_seen_speakers_carry_over_and_cli_errors_are_one_line(tmp_path):
    a = _decode(tmp_path / "a", {"u1": [0.5, 0.5, 0.0]})
    b = _decode(tmp_path / "b", {"u1": [0.2, 0.5, 0.3]})
    (b / SEEN_SPEAKERS).write_text("spk3\n")
    r = CliRunner().invoke(main, ["fuse", "--out", str(tmp_path / "f"), str(a), str(b)])
    assert r.exit_code == 0 and "mean of 2 runs (posteriors.txt: 1 utterances)" in r.output
    assert (tmp_path / "f" / SEEN_SPEAKERS).read_text() == "spk3\n"  # `sertk score` refuses it
    r = CliRunner().invoke(main, ["fuse", "--out", str(tmp_path / "g"), str(a), str(tmp_path / "none")])
    assert r.exit_code == 1 and "Traceback" not in r.output and "none: no posteriors.txt" in r.output
