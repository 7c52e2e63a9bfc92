"""Real data: the EmoDB recipe end to end (fbank + the default head, all 10 leave-one-speaker-out folds)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from sertk.data.datadir import DataDir
from tests.conftest import REPO


def test_emodb_fbank_recipe_all_folds(emodb, tmp_path):
    recipe = REPO / "egs" / "emodb"
    env = dict(os.environ, EMODB=str(emodb))
    env.pop("WHISPER", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    cmd = (f"./run.sh --datadir {tmp_path}/data --dumpdir {tmp_path}/dump --expdir {tmp_path}/exp "
           "--extract_config conf/extract_fbank.yaml --stop_stage 6")
    p = subprocess.run(cmd, shell=True, cwd=recipe, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

    data = DataDir(tmp_path / "data" / "all")
    assert len(data.utts) == 535 and len(data.speakers()) == 10
    assert sorted(set(data.tables["spk2gender"].values())) == ["f", "m"]
    tested = []
    for f in range(1, 11):
        fold = tmp_path / "data" / "folds" / f"fold{f}"
        test_spk = DataDir(fold / "test").speakers()
        assert len(test_spk) == 1
        assert not set(test_spk) & (set(DataDir(fold / "train").speakers()) | set(DataDir(fold / "valid").speakers()))
        tested += test_spk
    assert sorted(tested) == data.speakers()

    res = json.loads((tmp_path / "exp" / "train_pooled_mlp_fbank" / "RESULTS.json").read_text())
    ua = res["summary"]["ua"]["mean"]
    print(f"EmoDB fbank 10-fold UA {ua:.3f} WA {res['summary']['wa']['mean']:.3f}")
    assert len(res["folds"]) == 10
    assert ua > 0.45, f"UA {ua:.3f}: chance is 0.143, a logistic regression on pooled fbank reaches 0.527"
