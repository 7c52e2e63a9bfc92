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
    # min_batch: a last batch of one utterance joins the batch before (batch norm needs two)
    merged = list(LengthBatchSampler(lengths[:10], batch_size=3, seed=0, min_batch=2))
    assert sorted(len(b) for b in merged) == [3, 3, 4]
    assert sorted(i for b in merged for i in b) == list(range(10))
    ranks = [list(LengthBatchSampler(lengths, 3, seed=0, rank=r, world_size=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 2
    assert not {i for b in ranks[0] for i in b} & {i for b in ranks[1] for i in b}


def test_combine_and_missing_label_markers(synth, tmp_path):
    from sertk.data.datadir import DataDir
    d = DataDir(synth)
    a = d.subset(d.utts[:10], tmp_path / "a")
    (tmp_path / "a" / "utt2emo").write_text("".join(f"{u} -\n" for u in a.utts))
    (tmp_path / "a" / "utt2avd").write_text("".join(f"{u} 0.1 - 0.3\n" for u in a.utts))
    d.subset(d.utts[10:25], tmp_path / "b")
    c = DataDir.combine([tmp_path / "a", tmp_path / "b"], tmp_path / "c")
    assert c.utts == sorted(d.utts[:25]) and c.emotions() == d.emotions()
    assert set(c.tables) == set(d.tables)
    import math
    v, a_, dom = c.utt2avd(d.utts[0])
    assert v == 0.1 and math.isnan(a_) and dom == 0.3


def test_dataset_marks_missing_labels(synth, synth_fbank, tmp_path):
    import numpy as np
    from sertk.data.datadir import DataDir
    from sertk.data.dataset import FeatureDataset, collate
    d = DataDir(synth).subset(DataDir(synth).utts[:6], tmp_path / "d")
    (tmp_path / "d" / "utt2emo").write_text("".join(f"{u} {'-' if i % 2 else 'sad'}\n" for i, u in enumerate(d.utts)))
    (tmp_path / "d" / "utt2avd").write_text("".join(f"{u} {'- - -' if i < 3 else '1 2 3'}\n" for i, u in enumerate(d.utts)))
    ds = FeatureDataset(tmp_path / "d", synth_fbank, d.emotions())
    b = collate([ds[i] for i in range(6)])
    assert b["emo"].tolist() == [3, -1, 3, -1, 3, -1]
    assert np.isnan(b["avd"][:3].numpy()).all() and b["avd"][3:].tolist() == [[1, 2, 3]] * 3
    assert set(b["gender"].tolist()) <= {0, 1}
    assert ds.labels().tolist() == [3, 3, 3]
    (tmp_path / "d" / "utt2emo").write_text("".join(f"{u} bored\n" for u in d.utts))
    import pytest
    with pytest.raises(ValueError, match=f"utterance {d.utts[0]}: unknown emotion 'bored'"):
        FeatureDataset(tmp_path / "d", synth_fbank, d.emotions())
