"""ONNX export of a head over Whisper-base with its encoder: onnxruntime gives the torch path's
posteriors and V/A/D (within 1e-4) on real EmoDB clips of several lengths, and `sertk infer`
runs the export."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sertk.cli import main
from sertk.data.audio import load_audio
from sertk.export import OnnxPredictor, export_onnx, whisper_logmel
from sertk.infer.predict import Predictor
from sertk.models.checkpoint import save_model
from sertk.models.registry import build_model


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def whisper_head(whisper_base, tmp_path_factory):
    """A pooled MLP head (random weights, classes and V/A/D) over Whisper-base's 7 states."""
    d = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    io = {"input_layers": 7, "input_dim": 512, "num_classes": 4, "avd": True}
    model = build_model("pooled_mlp", {"ensemble": 2, "robust_scaling": True}, **io)
    with torch.no_grad():
        model.mix.fill_(0.5)
        model.stat_std.uniform_(0.5, 2.0)
    conf = {"model": "pooled_mlp", "model_conf": {"ensemble": 2, "robust_scaling": True}}
    save_model(d / "best.pt", model, conf, ["anger", "happiness", "neutral", "sadness"],
               {"num_layers": 7, "dim": 512}, {}, io)
    (d / "extract.yaml").write_text(f"upstream: whisper\nupstream_conf: {{name_or_path: {whisper_base}, "
                                    "convention: trimmed, layers: all}\ndtype: float16\n")
    return d


def test_onnx_matches_torch_on_real_clips(whisper_head, emodb, tmp_path):
    from sertk.config import yaml_load
    conf = yaml_load((whisper_head / "extract.yaml").read_text())
    export_onnx(whisper_head / "best.pt", tmp_path / "onnx", conf)
    wavs = {w.stem: load_audio(w.stem, str(w)) for w in sorted((emodb / "wav").glob("*.wav"))[::90][:5]}
    first = next(iter(wavs.values()))
    wavs.update({"short": first[:4000], "odd": first[:27777]})  # 0.25 s and an odd length
    torch_pred = Predictor(whisper_head / "best.pt", conf).from_waveforms(wavs)
    onnx = OnnxPredictor(tmp_path / "onnx")
    onnx_pred = onnx.from_waveforms(wavs)
    for u in wavs:
        np.testing.assert_allclose(onnx_pred[u]["posteriors"], torch_pred[u]["posteriors"], atol=1e-4)
        np.testing.assert_allclose(onnx_pred[u]["avd"], torch_pred[u]["avd"], atol=1e-4)
    # the numpy log-mel is Whisper's
    (up, _), = Predictor(whisper_head / "best.pt", conf).upstreams()
    for w in wavs.values():
        ref = up.fe(w, sampling_rate=16000, return_tensors="np", padding="longest")["input_features"][0]
        np.testing.assert_allclose(whisper_logmel(w, up.fe.mel_filters), ref[:, : len(w) // 160], atol=1e-4)
    # through the CLI: the same labels
    clip = sorted((emodb / "wav").glob("*.wav"))[0]
    r = invoke("infer", "--model", tmp_path / "onnx", "--out", tmp_path / "out", clip)
    assert r.exit_code == 0, r.output
    (rec,) = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert rec["utt"] == clip.stem and abs(sum(rec["posteriors"].values()) - 1) < 1e-3


def test_export_refuses_other_upstreams(synth_folds, synth_fbank, tmp_path):
    r = invoke("train", "--train-dir", synth_folds / "fold1" / "train", "--valid-dir", synth_folds / "fold1" / "valid",
               "--feat-dir", synth_fbank, "--exp-dir", tmp_path / "exp", "max_epochs=1")
    assert r.exit_code == 0, r.output
    r = invoke("export", "--extract-config", synth_fbank / "extract.yaml", tmp_path / "exp" / "best.pt", tmp_path / "x")
    assert r.exit_code != 0 and "ONNX export covers models over one Whisper feature stream" in r.output
