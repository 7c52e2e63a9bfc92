"""`sertk export --format onnx`: a model over cached features, together with its upstream, as
one ONNX graph that onnxruntime runs without torch. What precedes the graph is a numpy front end
(sertk/frontends.py), chosen by the model's extraction config:

  upstream                         front end (numpy)           ONNX graph
  whisper (trimmed)                whisper_logmel -> "mel"     Whisper encoder + model
  s3prl fbank / fbank_no_cmvn      s3prl_fbank -> "feats"      model
  librosa_mfcc                     librosa_mfcc -> "feats"     model

so numpy + onnxruntime (+ librosa for MFCCs) suffice:

    import json, numpy as np, onnxruntime as ort, soundfile as sf
    from sertk.frontends import FrontEnd             # numpy only (librosa for MFCCs)
    d = "model_onnx"; front_end = FrontEnd.load(d)
    wav, sr = sf.read("clip.wav", dtype="float32")     # 16 kHz mono
    out = ort.InferenceSession(f"{d}/model.onnx").run(None, front_end(wav))
    print(dict(zip(front_end.meta["emotions"], out[0][0])))   # posteriors

The graph takes one utterance at a time (Whisper trimmed: its positional table sliced to the
clip's length, as `convention: trimmed` extracts), rounds the features to the dtype they were
stored in for training, and applies the model. Recordings longer than `max_seconds` go through
`sertk infer --model <dir>`, which cuts them as for torch models.
"""
import logging
from pathlib import Path
from typing import Dict

import numpy as np
import torch

from sertk.fileio import write_json
from sertk.frontends import FrontEnd

log = logging.getLogger("sertk.export")

def _round_to(feats, half: bool):
    """The precision the training features were stored in."""
    return feats.half().float() if half else feats


class _Graph(torch.nn.Module):
    """The front end's output -> the model's outputs, as Predictor computes them: Whisper's
    log-mel (1, n_mels, M) through the encoder (trimmed), or features (1, L, T, D) as stored."""

    def __init__(self, model, dtype, encoder=None, layers=None):
        super().__init__()
        self.model, self.encoder, self.layers = model, encoder, layers
        self.half = dtype == "float16"

    def whisper_states(self, mel):
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
        return torch.stack(states, 1)  # (1, L, T, D)

    OUTPUTS = {"logits": "posteriors", "avd": "avd"}  # model output -> graph output name

    def outputs(self, x) -> dict:
        feats = _round_to(self.whisper_states(x) if self.encoder is not None else x, self.half)
        lengths = torch.ones(1, dtype=torch.long) * feats.shape[2]
        out = self.model(feats, lengths)
        return {name: torch.softmax(out[k], -1) if k == "logits" else out[k]
                for k, name in self.OUTPUTS.items() if k in out}

    def forward(self, x):
        return tuple(self.outputs(x).values())


S3PRL_FBANKS = {"fbank_no_cmvn": False, "fbank": True}  # name -> per-utterance CMVN
KALDI_ASSUMED = {"frame_length": 25.0, "frame_shift": 10.0}  # what frontends.kaldi_log_fbank does


def _front_end(model_path, conf, up):
    """(meta["front_end"], filterbank to store or None, graph kwargs) for this upstream, or a
    one-line refusal."""
    kind, uconf = conf.get("upstream"), conf.get("upstream_conf") or {}
    if kind == "whisper":
        if uconf.get("convention", "trimmed") != "trimmed":
            raise ValueError(f"{model_path}: ONNX export covers the trimmed Whisper convention only")
        return {"kind": "whisper_logmel", "input": "mel"}, up.fe.mel_filters, \
            {"encoder": up.encoder, "layers": up.layers}
    if kind == "s3prl" and uconf.get("name") in S3PRL_FBANKS:
        kaldi = up.model.upstream.config["kaldi"]["fbank"]
        if any(kaldi.get(k, v) != v for k, v in KALDI_ASSUMED.items()):
            raise ValueError(f"{model_path}: the numpy filterbank assumes {KALDI_ASSUMED}, s3prl has {kaldi}")
        import torchaudio
        banks, _ = torchaudio.compliance.kaldi.get_mel_banks(kaldi["num_mel_bins"], 512, 16000.0, 20.0, 0.0,
                                                             100.0, -500.0, 1.0)
        banks = torch.nn.functional.pad(banks, (0, 1)).T.numpy()  # (257, bins), as kaldi.fbank pads them
        return {"kind": "s3prl_fbank", "input": "feats", "cmvn": S3PRL_FBANKS[uconf["name"]]}, banks, {}
    if kind == "librosa_mfcc":
        return {"kind": "librosa_mfcc", "input": "feats", "options": up.kw}, None, {}
    raise ValueError(f"{model_path}: ONNX export covers models over Whisper (trimmed), s3prl fbank / "
                     f"fbank_no_cmvn or librosa_mfcc features; this one reads {kind}"
                     f"{' ' + uconf['name'] if uconf.get('name') else ''}")


def export_onnx(model_path, out_dir, extract_config=None) -> Path:
    """Write out_dir/{model.onnx, meta.json, extract.yaml} and, for mel front ends, mel_filters.npy."""
    from sertk.config import dump_yaml
    from sertk.infer.predict import Predictor

    pred = Predictor(model_path, extract_config)
    conf = pred.extract_conf
    if pred.kind != "features" or conf is None or isinstance(conf, list):
        raise ValueError(f"{model_path}: ONNX export covers models over one feature stream "
                         f"(this one reads {'audio' if pred.kind != 'features' else 'several streams'})")
    if getattr(pred.model, "speaker_norm", "none") != "none":
        raise ValueError(f"{model_path}: this head normalises per speaker (speaker_norm: {pred.model.speaker_norm}); "
                         "an ONNX graph reads one input at a time")
    (up, dtype), = pred.upstreams()
    front, filters, graph_kw = _front_end(model_path, conf, up)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graph = _Graph(pred.model, dtype, **graph_kw).eval()
    filters = None if filters is None else np.asarray(filters, np.float32)
    example = FrontEnd(front, filters)(np.random.default_rng(0).normal(0, 0.1, 32000).astype(np.float32))
    example = torch.from_numpy(example[front["input"]])
    axes = {"mel": {2: "frames"}} if front["input"] == "mel" else {"feats": {1: "layers", 2: "frames"}}
    with torch.no_grad():
        names = list(graph.outputs(example))
        torch.onnx.export(graph, (example,), str(out / "model.onnx"), input_names=[front["input"]],
                          output_names=names, dynamic_axes=axes, opset_version=17, dynamo=False)
    if filters is not None:
        np.save(out / "mel_filters.npy", filters)
    dump_yaml(conf, out / "extract.yaml")
    write_json(out / "meta.json", {  # last: its presence marks a finished export
        "format": FrontEnd.FORMAT, "outputs": names, "emotions": pred.emotions, "front_end": front,
        "max_seconds": 30 if conf["upstream"] == "whisper" else None, "sample_rate": 16000})
    return out


class OnnxPredictor:
    """`sertk infer --model <onnx export dir>`: onnxruntime instead of torch, the same outputs
    and the same long-recording handling (Predictor.write is shared)."""

    kind = "features"

    def __init__(self, export_dir):
        import onnxruntime as ort

        from sertk.config import read_yaml

        d = Path(export_dir)
        self.front_end = FrontEnd.load(d)
        meta = self.front_end.meta
        self.session = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
        self.outputs, self.emotions = meta["outputs"], meta["emotions"]
        self.max_samples = int(meta["max_seconds"] * 16000) if meta.get("max_seconds") else None
        self.extract_conf = read_yaml(d / "extract.yaml")
        self.seen_speakers, self.seen_in_input = set(), []

    def from_waveforms(self, wavs: Dict[str, np.ndarray]):
        pred = {}
        for u, w in wavs.items():  # `sertk infer` cuts long recordings into segments first
            if self.max_samples and len(w) > self.max_samples:
                raise ValueError(f"{u}: {len(w) / 16000:.1f} s; the ONNX graph takes at most "
                                 f"{self.max_samples // 16000} s per segment")
            res = self.session.run(None, self.front_end(w))
            pred[u] = {name: r[0] for name, r in zip(self.outputs, res)}
        return pred

    def check_speakers(self, data_dir, allow=False):  # an export does not record its speakers
        return None

    def write(self, pred, out_dir):
        from sertk.infer.predict import Predictor
        Predictor.write(self, pred, out_dir)


def is_onnx_export(path) -> bool:
    return Path(path).is_dir() and (Path(path) / "model.onnx").exists() and (Path(path) / "meta.json").exists()

