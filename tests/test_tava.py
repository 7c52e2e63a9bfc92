"""Real data, continuous labels: the TAVA recipe (Whisper-base trimmed features from the real
weights, the hierarchical conformer) on two leave-speaker-out folds."""
import json
import os
import subprocess
import sys
from pathlib import Path

from sertk.data.datadir import DataDir
from tests.conftest import REPO


def test_tava_recipe_continuous_path(tava, whisper_base, tmp_path):
    env = dict(os.environ, TAVA=str(tava), WHISPER=str(whisper_base))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    cmd = (f"./run.sh --datadir {tmp_path}/data --dumpdir {tmp_path}/dump --expdir {tmp_path}/exp "
           "--folds '1 2' --stop_stage 6 --train_args 'max_epochs=12 model_conf.encoder_conf.num_blocks=2'")
    p = subprocess.run(cmd, shell=True, cwd=REPO / "egs" / "tava", env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

    data = DataDir(tmp_path / "data" / "all")
    assert len(data.utts) == 352 and len(data.speakers()) == 22
    lengths = json.loads((tmp_path / "dump" / "whisper_base" / "feats_meta.json").read_text())
    assert lengths["num_layers"] == 7
    # the experiment's name follows the training arguments
    exp = tmp_path / "exp" / "train_conformer_hier_whisper_base_max_epochs_12_encoder_conf.num_blocks_2"
    res = json.loads((exp / "RESULTS.json").read_text())
    s = res["summary"]
    print({k: round(v["mean"], 3) for k, v in s.items()})
    # arousal is the easy dimension on TAVA (a ridge on pooled fbank reaches CCC 0.90)
    assert s["ccc_a"]["mean"] > 0.7 and s["ccc"]["mean"] > 0.5, s
    assert s["ua"]["mean"] > 2 / 16  # 16 affect words: chance 0.0625
