import pytest

from sertk.data.audio_dataset import AudioTextDataset, character_error_rate, collate_audio
from sertk.data.datadir import DataDir
from sertk.text.charvocab import CharVocab


def test_items_and_batches(synth, tmp_path):
    emotions = DataDir(synth).emotions()
    vocab = CharVocab.build(DataDir(synth).table("text").values(), tmp_path / "chars.model")
    ds = AudioTextDataset(synth, emotions, need_text=True, vocab=vocab)
    items = [ds[0], ds[5]]
    assert items[0]["wav"].dtype.name == "float32" and items[0]["text"]
    assert vocab.decode(items[0]["ctc"]) == items[0]["text"]  # synthetic transcripts are upper-case words
    b = collate_audio(items)
    assert b["wav"].shape == (2, max(len(i["wav"]) for i in items))
    assert b["wav_lengths"].tolist() == [len(i["wav"]) for i in items]
    k = b["ctc_lengths"].tolist()
    assert (b["ctc"][0, k[0]:] == -1).all() and (b["ctc"][1, k[1]:] == -1).all()  # ESPnet's padding
    assert b["emo"].tolist() == [int(items[0]["emo"]), int(items[1]["emo"])]
    # batching by duration: lengths in samples agree with the audio
    assert abs(ds.lengths[0] - len(items[0]["wav"])) <= 16


def test_text_only_items_carry_no_audio(synth):
    ds = AudioTextDataset(synth, DataDir(synth).emotions(), need_text=True, need_audio=False)
    b = collate_audio([ds[0], ds[1]])
    assert "wav" not in b and len(b["text"]) == 2


def test_missing_transcripts_are_a_clear_error(synth_copy):
    (synth_copy / "text").unlink()
    with pytest.raises(ValueError, match=r"reads transcripts but there is no `text`"):
        AudioTextDataset(synth_copy, need_text=True)


def test_character_error_rate():
    assert character_error_rate([[1, 2, 3, 4]], [[1, 2, 4]]) == 0.25
    assert character_error_rate([[1, 2], [3, 4]], [[1, 2], [3, 4]]) == 0.0
