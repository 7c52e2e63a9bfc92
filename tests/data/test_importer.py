"""`sertk data import` on three generated layouts, a bad pattern and an unmapped label."""
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sertk.cli import main
from sertk.data.datadir import DataDir
from sertk.data.importer import compile_pattern, import_tree
from sertk.data.validate import validate_datadir


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def tone(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32), 16000)


def test_folder_per_emotion(tmp_path):
    for emo in ("angry", "sad"):
        for spk in ("s1", "s2"):
            for i in range(2):
                tone(tmp_path / "corpus" / emo / f"{spk}_{i}.wav")
    r = import_tree(tmp_path / "corpus", tmp_path / "data" / "all", "{emo}/{spk}_{*}.wav",
                    label_map={"angry": "anger", "sad": "sadness"}, spk2gender={"s1": "female", "s2": "m"})
    assert r["utterances"] == 8 and r["labels"] == {"anger": 4, "sadness": 4}
    d = validate_datadir(tmp_path / "data" / "all")
    assert d.speakers() == ["s1", "s2"] and d.tables["spk2gender"] == {"s1": "f", "s2": "m"}
    assert (tmp_path / "data" / "emotions.txt").read_text().split() == ["anger", "sadness"]
    assert all(u.startswith(d.utt2spk[u] + "_") for u in d.utts)


def test_emotion_code_inside_file_names_with_speaker_folders(tmp_path):
    """EmoDB-like names (speaker, text, emotion letter, version) under speaker folders."""
    for spk in ("03", "08"):
        for code in ("W", "T", "N"):
            tone(tmp_path / "c" / spk / f"{spk}a01{code}a.wav")
    (tmp_path / "c" / "README.txt").write_text("not audio")
    (tmp_path / "emotions.yaml").write_text("W: anger\nN: neutral\nT: sadness\n")
    r = invoke("data", "import", tmp_path / "c", tmp_path / "data" / "all", "--labels", tmp_path / "emotions.yaml",
               "--pattern", "{spk}/{*}{emo:1}a.wav")
    assert r.exit_code == 0, r.output
    assert "6 utterances, 2 speakers" in r.output
    d = DataDir(tmp_path / "data" / "all")
    assert sorted(set(d.tables["utt2emo"].values())) == ["anger", "neutral", "sadness"]
    assert (tmp_path / "data" / "emotions.txt").read_text().split() == ["anger", "neutral", "sadness"]
    # the same by a regular expression, genders from a field
    for g, spk in (("female", "03"), ("male", "08")):
        tone(tmp_path / "g" / g / f"{spk}a01Wa.wav")
    r = invoke("data", "import", tmp_path / "g", tmp_path / "data2" / "all", "--labels", tmp_path / "emotions.yaml",
               "--pattern", r"re:(?P<gender>\w+)/(?P<spk>\d\d)a\d\d(?P<emo>[A-Z])a\.wav")
    assert r.exit_code == 0, r.output
    assert DataDir(tmp_path / "data2" / "all").tables["spk2gender"] == {"03": "f", "08": "m"}


def test_unmatched_files_bad_patterns_and_unmapped_labels(tmp_path):
    for name in ("s1/happy_1.wav", "s1/sad_1.wav", "s2/happy_2.wav", "s2/extra/odd.wav"):
        tone(tmp_path / "c" / name)
    r = invoke("data", "import", tmp_path / "c", tmp_path / "d", "--pattern", "{spk}/{emo}_{*}.wav")
    assert r.exit_code != 0 and "1 file(s) do not match" in r.output and "s2/extra/odd.wav" in r.output
    r = invoke("data", "import", tmp_path / "c", tmp_path / "d", "--pattern", "{spk}/{emo}_{*}.wav", "--skip-unmatched")
    assert r.exit_code == 0 and "3 utterances" in r.output and "1 unmatched file(s) left out" in r.output
    (tmp_path / "map.yaml").write_text("happy: happiness\n")
    r = invoke("data", "import", tmp_path / "c", tmp_path / "e", "--pattern", "{spk}/{emo}_{*}.wav",
               "--skip-unmatched", "--labels", tmp_path / "map.yaml")
    assert r.exit_code != 0 and "sad_1.wav: label 'sad' is not in the label map" in r.output
    for bad, msg in (("{spk}/{*}.wav", "needs the field(s) {emo}"), ("{spk}/{emo.wav", "fields are {name}"),
                     ("re:(?P<spk>[", "not a regular expression"), ("{spk}/{emo}_{emo}.wav", "appears twice")):
        with pytest.raises(ValueError, match=msg.replace("{", r"\{").replace("(", r"\(").replace(")", r"\)")):
            compile_pattern(bad)
