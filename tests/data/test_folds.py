import pytest

from sertk.data.datadir import DataDir
from sertk.data.folds import LeakageError, check_leakage, make_folds


def test_speaker_folds_disjoint_and_gender_balanced(synth, tmp_path):
    folds = make_folds(synth, tmp_path, mode="speaker", num_folds=4, seed=1)
    all_test = []
    for f in folds:
        spk = {s: set(f[s].utt2spk.values()) for s in ("train", "valid", "test")}
        assert not (spk["train"] & spk["test"]) and not (spk["valid"] & spk["test"])
        assert not (spk["train"] & spk["valid"])
        genders = {f["test"].tables["spk2gender"][s] for s in spk["test"]}
        assert genders == {"m", "f"}  # 2 test speakers per fold: one of each gender
        all_test += sorted(spk["test"])
    assert sorted(all_test) == DataDir(synth).speakers()  # every speaker tested exactly once
    summary = (tmp_path / "summary.txt").read_text()
    assert "fold4" in summary and "angry" in summary


def test_session_folds(synth, tmp_path):
    folds = make_folds(synth, tmp_path, mode="session", n_valid_spk=2)
    assert len(folds) == 2
    for f in folds:
        test_sessions = set(f["test"].tables["utt2session"].values())
        assert len(test_sessions) == 1
        assert not test_sessions & set(f["train"].tables["utt2session"].values())
        assert len(f["valid"].speakers()) == 2
        assert not set(f["valid"].speakers()) & set(f["train"].speakers())


def test_predefined_split(synth, tmp_path):
    d = DataDir(synth)
    split = {"spk01": "test", "spk02": "valid"}
    (tmp_path / "utt2split").write_text("".join(
        f"{u} {split.get(d.utt2spk[u], 'train')}\n" for u in d.utts))
    (fold,) = make_folds(synth, tmp_path / "f", mode="predefined", split_file=tmp_path / "utt2split")
    assert fold["test"].speakers() == ["spk01"] and fold["valid"].speakers() == ["spk02"]


def test_leakage_is_refused(synth, tmp_path):
    d = DataDir(synth)
    train = d.subset([u for u in d.utts if d.utt2spk[u] != "spk08"], tmp_path / "train")
    test = d.subset([u for u in d.utts if d.utt2spk[u] in ("spk07", "spk08")], tmp_path / "test")
    with pytest.raises(LeakageError, match=r"speaker\(s\) spk07 appear in both train .* and test"):
        check_leakage({"train": train, "test": test})


def test_predefined_split_with_leak_is_refused(synth, tmp_path):
    d = DataDir(synth)
    # one utterance of spk01 sneaks into train while spk01 is the test speaker
    first = d.utts[0]
    (tmp_path / "utt2split").write_text("".join(
        f"{u} {'test' if d.utt2spk[u] == 'spk01' and u != first else ('valid' if d.utt2spk[u] == 'spk02' else 'train')}\n"
        for u in d.utts))
    with pytest.raises(LeakageError, match="spk01"):
        make_folds(synth, tmp_path / "f", mode="predefined", split_file=tmp_path / "utt2split")
    assert not (tmp_path / "f").exists()  # nothing of the refused build is left to train on


def test_predefined_split_must_cover_every_utterance(synth, tmp_path):
    d = DataDir(synth)
    split = {"spk01": "test", "spk02": "valid"}
    lines = [f"{u} {split.get(d.utt2spk[u], 'train')}\n" for u in d.utts]
    (tmp_path / "utt2split").write_text("".join(lines[:5] + lines[6:]))
    with pytest.raises(ValueError, match=rf"no split for 1 utterance\(s\) .*e.g. {d.utts[5]}"):
        make_folds(synth, tmp_path / "f", mode="predefined", split_file=tmp_path / "utt2split")
    lines[5] = f"{d.utts[5]} -\n"  # explicitly left out
    (tmp_path / "utt2split").write_text("".join(lines))
    (fold,) = make_folds(synth, tmp_path / "f", mode="predefined", split_file=tmp_path / "utt2split")
    assert sum(len(fold[s].utts) for s in fold) == len(d.utts) - 1


def test_leakage_command_checks_every_dir(synth, tmp_path):
    from click.testing import CliRunner

    from sertk.cli import main
    d = DataDir(synth)
    dirs = [d.subset([u for u in d.utts if d.utt2spk[u] == s], tmp_path / s).path for s in ("spk01", "spk02", "spk03")]
    dirs.append(d.subset([u for u in d.utts if d.utt2spk[u] in ("spk04", "spk01")], tmp_path / "extra").path)
    r = CliRunner().invoke(main, ["data", "leakage", *map(str, dirs)])
    assert r.exit_code != 0 and "spk01 appear in both dir1" in r.output and "dir4" in r.output


def test_too_many_folds(synth, tmp_path):
    with pytest.raises(ValueError, match="only 8 speakers"):
        make_folds(synth, tmp_path, num_folds=9)
