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


def test_length_batches_and_ddp_split():
    from sertk.data.dataset import LengthBatchSampler

    lengths = [5, 50, 7, 48, 6, 49, 100, 99, 98, 1, 2, 3]
    s = LengthBatchSampler(lengths, batch_size=3, seed=0)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:  # sorted by length before batching: little padding
        ls = sorted(lengths[i] for i in b)
        assert ls[-1] - ls[0] <= 4
    s.set_epoch(1)
    assert list(s) != batches  # reshuffled each epoch, deterministically
    ranks = [list(LengthBatchSampler(lengths, 3, seed=0, rank=r, world_size=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 2
    assert not {i for b in ranks[0] for i in b} & {i for b in ranks[1] for i in b}
