"""Where commands run (`--ngpu`). On a machine without CUDA: asking for a GPU is a clear error.
With CUDA (skipped elsewhere): extraction, GMP-ATL's four stages and inference run on the GPU
and agree with the CPU."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sertk.cli import main
from sertk.devices import resolve_device
from sertk.features.config import load_extract_config
from sertk.data.feature_reader import FeatureReader
from sertk.features.extract import extract
from sertk.features.upstreams import build_upstream
from sertk.infer.predict import Predictor
from sertk.train.config import load_config
from sertk.train.trainer import train
from sertk.units import make_units
from tests.interrupt import interrupt_at_valid_pass

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def test_ngpu_zero_is_the_cpu():
    assert resolve_device(0) == "cpu"
    with pytest.raises(ValueError, match="must be >= 0"):
        resolve_device(-1)


def test_commands_flush_subnormals_unless_asked_to_keep_them(monkeypatch, synth_folds, tmp_path):
    try:
        monkeypatch.setenv("SERTK_SUBNORMALS", "keep")
        resolve_device(0)
        subnormal = torch.tensor(1e-40)
        assert (subnormal * 1.0).item() != 0
        monkeypatch.delenv("SERTK_SUBNORMALS")
        resolve_device(0)
        assert (subnormal * 1.0).item() == 0  # flushed: CPU ops on subnormals are 10-20x slower
        monkeypatch.setenv("SERTK_SUBNORMALS", "fast")
        fold = synth_folds / "fold1"
        r = CliRunner().invoke(main, ["train", "--train-dir", str(fold / "train"), "--valid-dir", str(fold / "valid"),
                                      "--exp-dir", str(tmp_path / "exp")])
        assert r.exit_code != 0 and "SERTK_SUBNORMALS must be flush or keep, not 'fast'" in r.output
    finally:
        monkeypatch.delenv("SERTK_SUBNORMALS", raising=False)
        resolve_device(0)


@no_cuda
@pytest.mark.parametrize("command", ["train", "infer", "extract", "units"])
def test_asking_for_a_gpu_without_cuda_is_an_error(command, synth_folds, tmp_path):
    fold = synth_folds / "fold1"
    args = {"train": ["--train-dir", fold / "train", "--valid-dir", fold / "valid", "--exp-dir", tmp_path / "exp",
                      "model=gmp_atl"],
            "infer": ["--model", tmp_path / "best.pt", "--out", tmp_path / "out", fold / "test"],
            "extract": ["--config", tmp_path / "e.yaml", fold / "test", tmp_path / "feats"],
            "units": ["--model", tmp_path / "best.pt", "--fit", fold / "train", "--out", tmp_path / "units"]}[command]
    (tmp_path / "e.yaml").write_text("upstream: stft\n")
    r = CliRunner().invoke(main, [command, "--ngpu", "1", *map(str, args)])
    assert r.exit_code != 0 and "--ngpu 1 asks for a GPU" in r.output and "sees no CUDA device" in r.output
    assert not (tmp_path / "exp" / "train.done").exists() and not (tmp_path / "feats" / "feats.scp").exists()


def test_device_goes_to_neural_upstreams_only(tiny_whisper):
    assert build_upstream("whisper", {"name_or_path": str(tiny_whisper)}, "cpu").device == "cpu"
    stft = build_upstream("stft", {}, "cuda")  # takes no device: signal processing stays on the CPU
    feats = stft([np.random.default_rng(0).standard_normal(16000).astype(np.float32)])
    assert isinstance(feats[0], np.ndarray) and np.isfinite(feats[0]).all() and feats[0].size > 0


@cuda
def test_extraction_on_the_gpu_matches_the_cpu(synth_folds, tiny_whisper, tmp_path):
    conf = load_extract_config(overrides=["upstream=whisper", f"upstream_conf.name_or_path={tiny_whisper}"])
    test = synth_folds / "fold1" / "test"
    assert extract(test, tmp_path / "cpu", conf, device="cpu") and extract(test, tmp_path / "gpu", conf, device="cuda")
    cpu, gpu = FeatureReader(tmp_path / "cpu"), FeatureReader(tmp_path / "gpu")
    for u in cpu.lengths:
        a, b = cpu[u], gpu[u]
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-3 * np.abs(a).max()), u


@cuda
def test_gmp_atl_stages_and_inference_on_the_gpu(synth_folds, tiny_hubert, tmp_path):
    fold, exp = synth_folds / "fold1", tmp_path / "exp"

    def conf(stage, *extra):
        return load_config(overrides=[
            "model=gmp_atl", f"model_conf.stage={stage}", f"model_conf.speech_encoder.name_or_path={tiny_hubert}",
            "model_conf.lstm_hidden=8", "model_conf.proj_dim=8", "model_conf.cluster_sizes=[4,8]",
            "batch_size=8", "max_epochs=2", "patience=2", "optim_conf.lr=1e-3", *extra])

    train(conf("A"), fold / "train", fold / "valid", None, exp / "A", ngpu=1)
    assert "device cuda" in (exp / "A" / "train.log").read_text()
    make_units(exp / "A" / "best.pt", fold / "train", [fold / "valid"], exp / "units", clusters=[4, 8], device="cuda")
    train(conf("C", f"units_dir={exp / 'units'}", f"init_param=[{exp / 'A' / 'best.pt'}:speech.]", "select_metric=loss"),
          fold / "train", fold / "valid", None, exp / "C", ngpu=1)
    train(conf("D", f"init_param=[{exp / 'C' / 'best.pt'}:speech.]"), fold / "train", fold / "valid", None,
          exp / "D", ngpu=1)
    hist = json.loads((exp / "D" / "history.json").read_text())
    assert all(np.isfinite(h["train_loss"]) for h in hist) and "ua" in hist[-1]["valid"]
    # a GPU-trained checkpoint loads anywhere; GPU and CPU inference agree
    post = {dev: Predictor(exp / "D" / "best.pt", device=dev).from_data_dir(fold / "test") for dev in ("cuda", "cpu")}
    assert set(post["cuda"]) == set(post["cpu"]) and post["cpu"]
    for u in post["cpu"]:
        assert np.allclose(post["cuda"][u]["posteriors"], post["cpu"][u]["posteriors"], atol=1e-3), u


@cuda
def test_interrupted_gpu_training_resumes(synth_folds, tiny_hubert, tmp_path, monkeypatch):
    """A checkpoint loaded onto the GPU carries the CPU generator's state there too: resuming
    must restore it (and the CUDA generator and AMP scaler) instead of failing."""
    fold, exp = synth_folds / "fold1", tmp_path / "A"
    conf = load_config(overrides=[
        "model=gmp_atl", "model_conf.stage=A", f"model_conf.speech_encoder.name_or_path={tiny_hubert}",
        "model_conf.lstm_hidden=8", "model_conf.proj_dim=8", "batch_size=8", "max_epochs=3", "patience=3"])
    undo = interrupt_at_valid_pass(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train(conf, fold / "train", fold / "valid", None, exp, ngpu=1)
    ckpt = torch.load(exp / "last.pt", weights_only=True)
    assert ckpt["cuda_rng"] is not None and ckpt["scaler"]
    undo()
    train(conf, fold / "train", fold / "valid", None, exp, ngpu=1)
    assert "resumed from" in (exp / "train.log").read_text() and (exp / "train.done").exists()
    assert len(json.loads((exp / "history.json").read_text())) == 3
