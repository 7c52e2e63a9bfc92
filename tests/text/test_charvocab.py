import pytest

from sertk.text.charvocab import CharVocab, normalize_transcript


def test_normalize_transcript():
    assert normalize_transcript("Excuse me. [LAUGHTER] It's 5 o'clock, ok?") == "EXCUSE ME IT'S O'CLOCK OK"
    assert normalize_transcript("<noise> ...") == ""


def test_build_encode_decode_and_greedy_ctc(tmp_path):
    v = CharVocab.build(["Stop that now!", "What a lovely day.", "I'm fine"], tmp_path / "chars.model")
    assert v.sp.id_to_piece(0) == "<blank>" and v.sp.id_to_piece(1) == "<unk>"
    ids = v.encode("what a day, i'm")
    assert 0 not in ids and v.decode(ids) == "WHAT A DAY I'M"
    # repeats collapse, blanks separate true doubles: "TT" needs a blank between
    t, a = v.encode("T")[-1], v.encode("A")[-1]
    assert v.greedy_ctc([0, t, t, 0, a, a, 0, t, 0]) == "TAT"
    assert len(CharVocab(tmp_path / "chars.model")) == len(v)  # reloads from disk
    with pytest.raises(ValueError, match="no transcript"):
        CharVocab.build(["...", "[LAUGHTER]"], tmp_path / "x.model")
