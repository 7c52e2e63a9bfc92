"""Real data: egs/emodb_urdu stages 1-2, acted EmoDB + spontaneous URDU on their four shared
emotions, with utt2style for the expression task and speaker-disjoint folds over both."""
import os
import subprocess
import sys
from pathlib import Path

from sertk.data.datadir import DataDir
from tests.conftest import REPO


def test_acted_plus_spontaneous_data_and_folds(emodb, urdu, tmp_path):
    env = dict(os.environ, EMODB=str(emodb), URDU=str(urdu))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    p = subprocess.run(f"./run.sh --datadir {tmp_path}/data --dumpdir {tmp_path}/dump --expdir {tmp_path}/exp "
                       "--stop_stage 2", shell=True, cwd=REPO / "egs" / "emodb_urdu", env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    data = DataDir(tmp_path / "data" / "all")
    style, emo = data.tables["utt2style"], data.tables["utt2emo"]
    acted = [u for u in data.utts if style[u] == "acted"]
    assert len(acted) == 339 and len(data.utts) - len(acted) == 400  # EmoDB's 4 classes + all of URDU
    assert (tmp_path / "data" / "emotions.txt").read_text().split() == ["anger", "happiness", "neutral", "sadness"]
    assert set(emo.values()) == {"anger", "happiness", "neutral", "sadness"}
    spk_style = {}
    for u in data.utts:  # a speaker is acted or spontaneous, never both
        spk_style.setdefault(data.tables["utt2spk"][u], set()).add(style[u])
    assert all(len(v) == 1 for v in spk_style.values()) and len(spk_style) == 39
    tested = []
    for f in range(1, 11):
        fold = tmp_path / "data" / "folds" / f"fold{f}"
        test_spk = set(DataDir(fold / "test").speakers())
        assert not test_spk & (set(DataDir(fold / "train").speakers()) | set(DataDir(fold / "valid").speakers()))
        tested += test_spk
    assert sorted(tested) == sorted(spk_style)
