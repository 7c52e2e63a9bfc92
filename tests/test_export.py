"""ONNX export of a model with its upstream: over Whisper-base (encoder in the graph), s3prl
fbank (with and without CMVN) and librosa MFCCs (numpy front ends), onnxruntime gives the torch
path's posteriors and V/A/D (within 1e-4) on real EmoDB clips of several lengths, and `sertk
infer` runs the export."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sertk.cli import main
from sertk.data.audio import load_audio
from sertk.export import OnnxPredictor, export_onnx
from sertk.frontends import whisper_logmel
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


def real_clips(emodb):
    """Five EmoDB clips, a 0.25 s one and one of an odd length."""
    wavs = {w.stem: load_audio(w.stem, str(w)) for w in sorted((emodb / "wav").glob("*.wav"))[::90][:5]}
    first = next(iter(wavs.values()))
    wavs.update({"short": first[:4000], "odd": first[:27777]})
    return wavs


def assert_parity(model_dir, conf, wavs, out_dir):
    torch_pred = Predictor(model_dir / "best.pt", conf).from_waveforms(wavs)
    onnx_pred = OnnxPredictor(out_dir).from_waveforms(wavs)
    for u in wavs:
        assert set(onnx_pred[u]) == set(torch_pred[u]) >= {"posteriors"}
        for key in torch_pred[u]:
            np.testing.assert_allclose(onnx_pred[u][key], torch_pred[u][key], atol=1e-4, err_msg=f"{u} {key}")


def test_onnx_matches_torch_on_real_clips(whisper_head, emodb, tmp_path):
    from sertk.config import yaml_load
    conf = yaml_load((whisper_head / "extract.yaml").read_text())
    export_onnx(whisper_head / "best.pt", tmp_path / "onnx", conf)
    wavs = real_clips(emodb)
    assert_parity(whisper_head, conf, wavs, tmp_path / "onnx")
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


def frame_model(d, model, model_conf, layers, dim, extract_yaml):
    """A model (random weights; classes, and V/A/D where it has them) over one feature stream."""
    torch.manual_seed(0)
    io = {"input_layers": layers, "input_dim": dim, "num_classes": 4}
    if model == "pooled_mlp":
        io["avd"] = True
    net = build_model(model, model_conf, **io)
    save_model(d / "best.pt", net, {"model": model, "model_conf": model_conf},
               ["anger", "happiness", "neutral", "sadness"], {"num_layers": layers, "dim": dim}, {}, io)
    (d / "extract.yaml").write_text(extract_yaml)
    return d


@pytest.mark.parametrize("extract_yaml,dim", [
    ("upstream: s3prl\nupstream_conf: {name: fbank_no_cmvn}\ndtype: float32\n", 240),
    ("upstream: s3prl\nupstream_conf: {name: fbank}\ndtype: float16\n", 240),
    ("upstream: librosa_mfcc\nupstream_conf: {n_mfcc: 40, win_ms: 25, hop_ms: 10, n_mels: 64}\n"
     "dtype: float32\n", 40),
])
@pytest.mark.parametrize("model,model_conf", [("pooled_mlp", {"ensemble": 2}), ("baseline", {"pooling": "attentive"})])
def test_onnx_signal_front_ends_match_torch(emodb, tmp_path, extract_yaml, dim, model, model_conf):
    """numpy filterbank / librosa MFCCs + ONNX model == the torch upstream + model, for a pooled
    head and a frame-level one (attention pooling over frames)."""
    from sertk.config import yaml_load
    from sertk.frontends import s3prl_fbank
    d = frame_model(tmp_path, model, model_conf, 1, dim, extract_yaml)
    conf = yaml_load(extract_yaml)
    export_onnx(d / "best.pt", tmp_path / "onnx", conf)
    wavs = real_clips(emodb)
    assert_parity(d, conf, wavs, tmp_path / "onnx")
    if conf["upstream"] == "s3prl":  # the numpy filterbank is s3prl's, frame for frame
        (up, _), = Predictor(d / "best.pt", conf).upstreams()
        banks = np.load(tmp_path / "onnx" / "mel_filters.npy")
        for w in wavs.values():
            ref = up([w])[0][0]
            np.testing.assert_allclose(s3prl_fbank(w, banks, conf["upstream_conf"]["name"] == "fbank"), ref,
                                       atol=1e-3)


def test_front_ends_import_without_torch():
    import subprocess
    import sys
    code = "import sys; from sertk.frontends import FrontEnd; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_export_refuses_other_upstreams(tmp_path):
    d = frame_model(tmp_path, "pooled_mlp", {"ensemble": 1}, 1, 401,
                    "upstream: stft\nupstream_conf: {n_fft: 800}\ndtype: float32\n")
    r = invoke("export", "--extract-config", d / "extract.yaml", d / "best.pt", tmp_path / "x")
    assert r.exit_code != 0 and "this one reads stft" in r.output and "Traceback" not in r.output
