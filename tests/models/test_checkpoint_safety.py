"""Loading a model never runs code from it: checkpoints and packed models are read with the
weights-only unpickler, a file with a planted pickle payload is refused (and the payload never
runs), and `sertk convert-checkpoint --trust` rewrites an old-style file the user trusts."""
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sertk.cli import main
from sertk.models.checkpoint import UnsafeCheckpointError, load_model, read_checkpoint, save_model
from sertk.models.registry import build_model


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


class Payload:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def tiny_checkpoint(path, info=None):
    model = build_model("linear", {"layer_sets": "all"}, input_layers=1, input_dim=4, num_classes=2)
    save_model(path, model, {"model": "linear", "model_conf": {"layer_sets": "all"}}, ["a", "b"],
               {"num_layers": 1, "dim": 4}, info or {"seconds": np.float64(1.5)},
               {"input_layers": 1, "input_dim": 4, "num_classes": 2})
    return model


def test_saved_checkpoints_load_weights_only(tmp_path):
    model = tiny_checkpoint(tmp_path / "best.pt", {"seconds": np.float64(1.5), "layers": (0,),
                                                   "scores": np.array([0.5, 0.25])})
    ckpt = torch.load(tmp_path / "best.pt", weights_only=True)  # plain data only
    assert ckpt["info"] == {"seconds": 1.5, "layers": [0], "scores": [0.5, 0.25]}
    loaded, _ = load_model(tmp_path / "best.pt")
    assert torch.equal(loaded.cls.weight, model.cls.weight)


def test_planted_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = read_checkpoint(tiny_checkpoint(tmp_path / "good.pt") and tmp_path / "good.pt")
    ckpt["info"] = Payload(marker)
    torch.save(ckpt, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError, match="evil.pt: refused, it holds pickled Python objects"):
        load_model(tmp_path / "evil.pt")
    r = invoke("infer", "--model", tmp_path / "evil.pt", "--out", tmp_path / "out", tmp_path / "x.wav")
    assert r.exit_code != 0 and "refused" in r.output and "convert-checkpoint --trust" in r.output
    # the same file inside a packed model
    (tmp_path / "pack" / "m").mkdir(parents=True)
    os.replace(tmp_path / "evil.pt", tmp_path / "pack" / "m" / "model.pt")
    (tmp_path / "pack" / "m" / "emotions.txt").write_text("a\nb\n")
    with tarfile.open(tmp_path / "m.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "pack" / "m", arcname="m")
    unpacked = lambda: set(Path(tempfile.gettempdir()).glob("sertk-model-*"))  # noqa: E731
    before = unpacked()
    r = invoke("infer", "--model", tmp_path / "m.tar.gz", "--out", tmp_path / "out", tmp_path / "x.wav")
    assert r.exit_code != 0 and "refused" in r.output
    assert unpacked() <= before  # the archive's temporary copy is removed
    r = invoke("pack", "--exp-dir", tmp_path / "pack" / "m", "--out", tmp_path / "p.tar.gz")
    assert r.exit_code != 0  # no best.pt there: refused before anything is read
    assert not marker.exists()


def test_convert_checkpoint_needs_trust(tmp_path):
    model = tiny_checkpoint(tmp_path / "new.pt")
    old = read_checkpoint(tmp_path / "new.pt")
    old["info"] = {"seconds": np.float64(1.5)}  # what checkpoints held before: numpy scalars
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(UnsafeCheckpointError):
        read_checkpoint(tmp_path / "old.pt")
    r = invoke("convert-checkpoint", tmp_path / "old.pt", tmp_path / "conv.pt")
    assert r.exit_code != 0 and "--trust" in r.output and not (tmp_path / "conv.pt").exists()
    r = invoke("convert-checkpoint", "--trust", tmp_path / "old.pt", tmp_path / "conv.pt")
    assert r.exit_code == 0, r.output
    loaded, ckpt = load_model(tmp_path / "conv.pt")
    assert ckpt["info"] == {"seconds": 1.5} and torch.equal(loaded.cls.weight, model.cls.weight)
