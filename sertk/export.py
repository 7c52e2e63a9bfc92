"""`sertk export --format onnx`: a model over Whisper features, together with its Whisper
encoder, as one ONNX graph (log-mel -> class posteriors and/or V/A/D) that onnxruntime runs
without torch. The log-mel front end is a few lines of numpy (whisper_logmel below, with the
filterbank saved as mel_filters.npy), so numpy + onnxruntime suffice:

    import json, numpy as np, onnxruntime as ort, soundfile as sf
    from sertk.export import whisper_logmel          # or copy its 12 lines
    d = "model_onnx"; meta = json.load(open(f"{d}/meta.json"))
    wav, sr = sf.read("clip.wav", dtype="float32")     # 16 kHz mono
    mel = whisper_logmel(wav, np.load(f"{d}/mel_filters.npy"))
    out = ort.InferenceSession(f"{d}/model.onnx").run(None, {"mel": mel[None]})
    print(dict(zip(meta["emotions"], out[0][0])))     # posteriors

The graph encodes one utterance at a time, trimmed (Whisper's positional table sliced to the
clip's length, as `convention: trimmed` extracts), rounds the features to the dtype they were
stored in for training, and applies the model. Recordings longer than 30 s go through
`sertk infer --model <dir>`, which cuts them as for torch models.
"""
import json
import logging
from pathlib import Path
from typing import Dict

import numpy as np
import torch

from sertk.fileio import write_json

log = logging.getLogger("sertk.export")

N_FFT, HOP = 400, 160


def whisper_logmel(wav: np.ndarray, mel_filters: np.ndarray) -> np.ndarray:
    """Whisper's log-mel of one 16 kHz waveform, (n_mels, len(wav) // 160), in numpy: centred
    reflect-padded STFT (periodic Hann, 400 / 160), power, mel, log10, floored 8 below the max,
    scaled (x + 4) / 4 (what transformers' WhisperFeatureExtractor computes without padding)."""
    x = np.pad(wav.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    logmel = np.log10(np.maximum(power @ mel_filters, 1e-10)).T[:, :-1]
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    return ((logmel + 4.0) / 4.0)[:, : len(wav) // HOP].astype(np.float32)


class _WhisperAndHead(torch.nn.Module):
    """log-mel (1, n_mels, M) -> the model's outputs, as Predictor computes them."""

    def __init__(self, encoder, layers, dtype, model):
        super().__init__()
        self.encoder, self.layers, self.model = encoder, layers, model
        self.half = dtype == "float16"

    def forward(self, mel):
        enc = self.encoder
        x = torch.nn.functional.gelu(enc.conv1(mel))
        x = torch.nn.functional.gelu(enc.conv2(x)).permute(0, 2, 1)
        x = x + enc.embed_positions.weight[: x.shape[1]]
        states = [x]
        for layer in enc.layers:
            x = layer(x, attention_mask=None)
            x = x[0] if isinstance(x, tuple) else x
            states.append(x)
        states[-1] = enc.layer_norm(x)
        if self.layers not in (None, "all"):
            states = [states[i] for i in ([self.layers] if isinstance(self.layers, int) else self.layers)]
        feats = torch.stack(states, 1)  # (1, L, T, D)
        if self.half:  # the precision the training features were stored in
            feats = feats.half().float()
        lengths = torch.ones(1, dtype=torch.long) * feats.shape[2]
        out = self.model(feats, lengths)
        res = []
        if "logits" in out:
            res.append(torch.softmax(out["logits"], -1))
        if "avd" in out:
            res.append(out["avd"])
        return tuple(res)


def export_onnx(model_path, out_dir, extract_config=None) -> Path:
    """Write out_dir/{model.onnx, mel_filters.npy, meta.json, extract.yaml}."""
    from sertk.infer.predict import Predictor

    pred = Predictor(model_path, extract_config)
    conf = pred.extract_conf
    if pred.kind != "features" or conf is None or isinstance(conf, list) or conf.get("upstream") != "whisper":
        raise ValueError(f"{model_path}: ONNX export covers models over one Whisper feature stream "
                         f"(this one reads {'audio' if pred.kind != 'features' else conf and conf.get('upstream')})")
    if (conf.get("upstream_conf") or {}).get("convention", "trimmed") != "trimmed":
        raise ValueError(f"{model_path}: ONNX export covers the trimmed Whisper convention only")
    (up, dtype), = pred.upstreams()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graph = _WhisperAndHead(up.encoder, up.layers, dtype, pred.model).eval()
    mel = torch.from_numpy(whisper_logmel(np.zeros(32000, np.float32) + 1e-3, up.fe.mel_filters))[None]
    names = (["posteriors"] if pred.emotions and pred.model.num_classes else []) + \
        (["avd"] if getattr(pred.model, "avd", False) else [])
    with torch.no_grad():
        torch.onnx.export(graph, (mel,), str(out / "model.onnx"), input_names=["mel"], output_names=names,
                          dynamic_axes={"mel": {2: "frames"}}, opset_version=17, dynamo=False)
    np.save(out / "mel_filters.npy", up.fe.mel_filters.astype(np.float32))
    from sertk.config import dump_yaml
    dump_yaml(conf, out / "extract.yaml")
    write_json(out / "meta.json", {"format": "sertk-onnx-1", "outputs": names, "emotions": pred.emotions,
                                   "max_seconds": 30, "sample_rate": 16000})
    return out


class OnnxPredictor:
    """`sertk infer --model <onnx export dir>`: onnxruntime instead of torch, the same outputs
    and the same long-recording handling (Predictor.write is shared)."""

    kind = "features"

    def __init__(self, export_dir):
        import onnxruntime as ort

        from sertk.config import yaml_load

        d = Path(export_dir)
        meta = json.loads((d / "meta.json").read_text())
        if meta.get("format") != "sertk-onnx-1":
            raise ValueError(f"{d}: not a sertk ONNX export (meta.json format {meta.get('format')!r})")
        self.session = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
        self.outputs, self.emotions = meta["outputs"], meta["emotions"]
        self.filters = np.load(d / "mel_filters.npy")
        self.extract_conf = yaml_load((d / "extract.yaml").read_text())
        self.seen_speakers, self.seen_in_input = set(), []

    def from_waveforms(self, wavs: Dict[str, np.ndarray]):
        from sertk.features.upstreams import WHISPER_WINDOW

        pred = {}
        for u, w in wavs.items():  # `sertk infer` cuts long recordings into segments first
            if len(w) > WHISPER_WINDOW:
                raise ValueError(f"{u}: {len(w) / 16000:.1f} s; the ONNX graph takes at most 30 s per segment")
            res = self.session.run(None, {"mel": whisper_logmel(w, self.filters)[None]})
            pred[u] = {name: r[0] for name, r in zip(self.outputs, res)}
        return pred

    def check_speakers(self, data_dir, allow=False):  # an export does not record its speakers
        return None

    def write(self, pred, out_dir):
        from sertk.infer.predict import Predictor
        Predictor.write(self, pred, out_dir)


def is_onnx_export(path) -> bool:
    return Path(path).is_dir() and (Path(path) / "model.onnx").exists() and (Path(path) / "meta.json").exists()

