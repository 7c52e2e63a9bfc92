import pytest

from sertk.data.datadir import DataDir, DataDirError
from sertk.fileio import read_table, write_table


def test_read_table_rejects_duplicates(tmp_path):
    f = tmp_path / "utt2emo"
    f.write_text("a x\na y\n")
    with pytest.raises(ValueError, match=r"utt2emo:2: duplicated key 'a'"):
        read_table(f)


def test_write_table_sorts(tmp_path):
    write_table(tmp_path / "t", [("b", "2"), ("a", "1")])
    assert (tmp_path / "t").read_text() == "a 1\nb 2\n"


def test_subset_keeps_all_tables(synth, tmp_path):
    d = DataDir(synth)
    utts = [u for u in d.utts if d.utt2spk[u] == "spk01"]
    sub = d.subset(utts, tmp_path / "sub")
    assert sub.utts == sorted(utts)
    assert set(sub.tables) == set(d.tables)
    assert sub.speakers() == ["spk01"]
    assert list(sub.tables["spk2gender"]) == ["spk01"]
    assert sub.emotions() == d.emotions()
    assert (tmp_path / "sub" / "spk2utt").read_text().startswith("spk01 spk01_angry_00")


def test_not_a_datadir(tmp_path):
    with pytest.raises(DataDirError, match="no wav.scp"):
        DataDir(tmp_path)
