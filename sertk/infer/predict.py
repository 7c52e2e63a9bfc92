"""`sertk infer`: a trained checkpoint or packed model on cached features, a data dir,
a wav.scp or plain audio files. Writes what the model predicts: utt2emo_hyp (text) and
posteriors.txt for a classifier, utt2avd_hyp (valence arousal dominance) for a regressor,
utt2gender_hyp / utt2style_hyp for multitask heads, and predictions.json with all of them."""
import logging
import shutil
import tarfile
import tempfile
import weakref
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from sertk.config import yaml_load

from sertk.data.audio import audio_options, load_audio
from sertk.data.audio_dataset import AudioTextDataset, collate_audio
from sertk.data.datadir import ATTRIBUTES, SEEN_SPEAKERS
from sertk.data.dataset import collate, to_device
from sertk.fileio import read_table, write_json, write_table, write_text
from sertk.models import MODELS, input_kind, model_args
from sertk.models.checkpoint import load_model
from sertk.models.losses import attribute_class
from sertk.config import relocate_paths
from sertk.score.decode_dir import hyp_name, write_avd, write_posteriors

log = logging.getLogger("sertk.infer")


def resolve_model(model_path):
    """Accept best.pt, a packed dir, or a packed .tar.gz; returns (checkpoint, extract conf,
    pack dir or None, the temporary dir an archive was unpacked into or None: the caller
    removes it)."""
    p, tmp = Path(model_path), None
    if p.is_file() and p.name.endswith((".tar.gz", ".tgz")):
        tmp = Path(tempfile.mkdtemp(prefix="sertk-model-"))
        with tarfile.open(p) as tar:
            tar.extractall(tmp, filter="data")
        p = next(tmp.iterdir()) if len(list(tmp.iterdir())) == 1 else tmp
    if p.is_dir():
        ext = p / "extract.yaml"
        conf = yaml_load(ext.read_text()) if ext.exists() else None
        for c in conf if isinstance(conf, list) else ([conf] if conf else []):  # one per stream
            relocate_paths(c, p)  # packed upstream paths are relative to the pack dir
        return p / "model.pt", conf, p, tmp
    if not p.exists():
        raise FileNotFoundError(f"model {p} not found (give best.pt, a packed dir or .tar.gz)")
    return p, None, None, None


def model_embeddings(model_path, feat_dir, utts) -> Dict[str, np.ndarray]:
    """utt -> the model's final utterance embedding (t-SNE, separability, probes)."""
    from sertk.data.dataset import split_feat_dirs
    from sertk.data.feature_reader import FeatureReader
    pred = Predictor(model_path).from_features(list(utts), [FeatureReader(f) for f in split_feat_dirs(feat_dir)])
    emb = {u: p["embedding"] for u, p in pred.items() if "embedding" in p}
    if not emb:
        raise ValueError(f"{model_path}: this model exposes no embedding (camulenet and ecapa_mtl do)")
    return emb


class Predictor:
    def __init__(self, model_path, extract_conf: Optional[dict] = None, device: str = "cpu"):
        ckpt_path, packed_conf, pack_dir, unpacked = resolve_model(model_path)
        if unpacked is not None:  # the upstream is read lazily from it: removed with the predictor
            weakref.finalize(self, shutil.rmtree, unpacked, True)
        try:
            self.model, ckpt = load_model(ckpt_path, device, base_dir=pack_dir)
        except Exception:
            if unpacked is not None:  # a traceback would keep this predictor (and the copy) alive
                shutil.rmtree(unpacked, True)
            raise
        self.emotions: List[str] = ckpt["emotions"]
        info = ckpt.get("info") or {}
        self.seen_speakers = set(info.get("train_speakers", [])) | set(info.get("valid_speakers", []))
        self.seen_in_input: List[str] = []  # seen speakers inferred on anyway (written as a warning)
        self.meta = ckpt["feats_meta"]
        self.extract_conf = extract_conf or packed_conf
        self.device = device
        self._upstream = None
        # a speaker_norm head on raw audio: with `one_speaker` every input is taken as one
        # speaker's; their statistics wait in `_pending` until flush() normalises them together
        self.one_speaker, self._pending = False, {}
        # audio models (MMER) run their own encoders on waveforms (+ transcripts)
        self.kind = input_kind(ckpt["config"]["model"])
        cls, mconf = MODELS[ckpt["config"]["model"]], ckpt["config"]["model_conf"] or {}
        self.needs_text = self.kind == "audio" and cls.needs_text(**mconf)
        self.needs_audio = self.kind == "audio" and cls.needs_audio(**mconf)

    def upstreams(self):
        """One upstream per feature stream (a list extraction config = several streams)."""
        if self._upstream is None:
            if self.extract_conf is None:
                raise ValueError("raw audio needs the feature extraction config: use a packed "
                                 "model or pass --extract-config")
            from sertk.features.upstreams import build_upstream
            confs = self.extract_conf if isinstance(self.extract_conf, list) else [self.extract_conf]
            self._upstream = [(build_upstream(c["upstream"], c.get("upstream_conf"), self.device), c.get("dtype", "float32"))
                              for c in confs]
        return self._upstream

    @torch.no_grad()
    def _predict(self, items) -> Dict[str, Dict[str, np.ndarray]]:
        """utt -> {"posteriors": (classes,), "avd": (3,)}, whichever the model outputs."""
        batch = (collate_audio if self.kind == "audio" else collate)(items)
        batch = to_device(batch, self.device)
        return self._collect(batch["utt"], self.model(*model_args(self.kind, batch)))

    def _collect(self, utts, out) -> Dict[str, Dict[str, np.ndarray]]:
        """The model's outputs for `utts` -> utt -> {"posteriors": ..., "avd": ..., ...}."""
        pred = {u: {} for u in utts}
        if "logits" in out:
            for u, p in zip(utts, torch.softmax(out["logits"].float(), -1).cpu().numpy()):
                pred[u]["posteriors"] = p
        if "avd" in out:
            for u, v in zip(utts, out["avd"].float().cpu().numpy()):
                pred[u]["avd"] = v
        for name, classes in ATTRIBUTES.items():  # auxiliary heads: gender, style
            if f"{name}_logits" in out:
                for u, k in zip(utts, attribute_class(out[f"{name}_logits"]).tolist()):
                    pred[u][name] = classes[k]
        if "embedding" in out:  # models that expose their final embedding (t-SNE plots)
            for u, e in zip(utts, out["embedding"].float().cpu().numpy()):
                pred[u]["embedding"] = e
        return pred

    def from_features(self, utts, reader, batch_size=32, utt2spk: Optional[Dict[str, str]] = None):
        """Cached features of `utts`; a model that normalises per speaker needs `utt2spk` and
        reads each speaker's utterances together."""
        pred = {}
        readers = reader if isinstance(reader, list) else [reader]
        if getattr(self.model, "speaker_norm", "none") != "none":
            return self._from_speakers(utts, readers[0], utt2spk)
        order = sorted(utts, key=lambda u: readers[0].lengths[u])
        for i in range(0, len(order), batch_size):
            pred.update(self._predict([{"utt": u, "feats": _stream_tuple([r[u] for r in readers])}
                                       for u in order[i: i + batch_size]]))
        return pred

    @torch.no_grad()
    def _from_speakers(self, utts, reader, utt2spk):
        from sertk.models.pooled import pooled_stats
        missing = [u for u in utts if u not in (utt2spk or {})]
        if missing:
            raise ValueError(f"this model normalises per speaker: utterance {missing[0]} has no speaker (utt2spk)")
        speakers = [utt2spk[u] for u in utts]
        return self._collect(list(utts), self.model.forward_speakers(pooled_stats(reader, utts), speakers))

    def from_data_dir(self, data_dir, batch_size=8):
        """Audio models: waveforms (and `text`) of a data dir, batched by duration."""
        ds = AudioTextDataset(data_dir, need_text=self.needs_text, need_audio=self.needs_audio)
        order = sorted(range(len(ds)), key=lambda i: ds.lengths[i])
        pred = {}
        for i in range(0, len(order), batch_size):
            pred.update(self._predict([ds[j] for j in order[i: i + batch_size]]))
        return pred

    def from_audio(self, sources: Dict[str, str], batch_size=8):
        if self.kind == "audio":
            if self.needs_text:
                raise ValueError("this model reads transcripts: give a data dir with a `text` file")
            keys = list(sources)
            return {u: p for i in range(0, len(keys), batch_size) for u, p in self._predict(
                [{"utt": u, "wav": load_audio(u, sources[u])} for u in keys[i: i + batch_size]]).items()}
        pred = {}
        keys = list(sources)
        for i in range(0, len(keys), batch_size):
            chunk = keys[i: i + batch_size]
            pred.update(self.from_waveforms(
                {u: load_audio(u, sources[u], **audio_options(self.extract_conf)) for u in chunk}))
        pred.update(self.flush())
        return pred

    def from_waveforms(self, wavs: Dict[str, np.ndarray]):
        """utt -> 16 kHz mono waveform (already read as the model's extraction config says)."""
        keys = list(wavs)
        if self.kind == "audio":
            return self._predict([{"utt": u, "wav": wavs[u]} for u in keys])
        speaker_norm = getattr(self.model, "speaker_norm", "none") != "none"
        if speaker_norm and not self.one_speaker:
            raise ValueError(f"this head normalises per speaker (speaker_norm: {self.model.speaker_norm}): give a "
                             "data dir with --feat-dir, or --one-speaker if all the inputs are one speaker's")
        # same rounding as the stored features the model was trained on
        streams = [[f.astype(dtype).astype(np.float32) for f in up([wavs[u] for u in keys])]
                   for up, dtype in self.upstreams()]
        if speaker_norm:
            from sertk.models.pooled import layer_stats
            for j, u in enumerate(keys):
                f = torch.from_numpy(np.asarray(streams[0][j]))[None]
                self._pending[u] = layer_stats(f, torch.tensor([f.shape[2]]))[0].numpy()
            return {}
        return self._predict([{"utt": u, "feats": _stream_tuple([s[j] for s in streams])} for j, u in enumerate(keys)])

    @torch.no_grad()
    def flush(self) -> Dict[str, Dict[str, np.ndarray]]:
        """Predictions held back by a one-speaker speaker_norm head: all inputs normalised together."""
        pending, self._pending = self._pending, {}
        if not pending:
            return {}
        utts = list(pending)
        return self._collect(utts, self.model.forward_speakers(np.stack([pending[u] for u in utts]), ["one"] * len(utts)))

    def check_speakers(self, data_dir, allow: bool = False) -> None:
        """Refuse a data dir with speakers this model was trained or selected on (its scores
        would measure memory, not generalisation); with `allow`, note them for write()."""
        from sertk.data.datadir import DataDir
        seen = sorted(set(DataDir(data_dir).utt2spk.values()) & self.seen_speakers)
        if seen and not allow:
            raise ValueError(f"{data_dir}: speaker(s) {' '.join(seen[:5])}{' ...' if len(seen) > 5 else ''} "
                             "were in this model's training or valid data; pass --allow-seen-speakers "
                             "to infer on them anyway (the output then carries a warning)")
        self.seen_in_input = seen

    def write(self, pred: Dict[str, Dict[str, np.ndarray]], out_dir) -> None:
        out = Path(out_dir)
        if self.seen_in_input:  # `sertk score` refuses this dir unless told otherwise
            write_text(out / SEEN_SPEAKERS, "".join(s + "\n" for s in self.seen_in_input))
            log.warning("%s: speakers %s were seen in training: not a test of unseen speakers", out,
                        " ".join(self.seen_in_input))
        utts = sorted(pred)
        records = [{"utt": u} for u in utts]
        if utts and "posteriors" in pred[utts[0]]:
            post = {u: pred[u]["posteriors"] for u in utts}
            hyp = write_posteriors(out, self.emotions, post)
            for r in records:
                r["label"] = hyp[r["utt"]]
                r["posteriors"] = {e: round(float(p), 5) for e, p in zip(self.emotions, post[r["utt"]])}
        if utts and "avd" in pred[utts[0]]:
            write_avd(out, {u: pred[u]["avd"] for u in utts})
            for r in records:
                r["valence"], r["arousal"], r["dominance"] = (round(float(v), 4) for v in pred[r["utt"]]["avd"])
        for name in ATTRIBUTES:  # utt2gender_hyp, utt2style_hyp
            if utts and name in pred[utts[0]]:
                write_table(out / hyp_name(name), [(u, pred[u][name]) for u in utts])
                for r in records:
                    r[name] = pred[r["utt"]][name]
        write_json(out / "predictions.json", records)


def _stream_tuple(arrays):
    """One stream: its array; several: a tuple (what FeatureDataset items hold)."""
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def audio_sources(inputs: List[str]) -> Dict[str, str]:
    """A data dir, a wav.scp, or audio files -> {utt: audio source}."""
    if len(inputs) == 1 and Path(inputs[0]).is_dir():
        from sertk.data.datadir import DataDir
        d = DataDir(inputs[0])
        if d.has("segments"):
            raise ValueError("segments are not supported for raw-audio inference; extract features first")
        return {u: d.tables["wav.scp"][u] for u in d.utts}
    if len(inputs) == 1 and inputs[0].endswith(".scp"):
        return read_table(inputs[0])
    out = {}
    for f in inputs:
        if not Path(f).exists():
            raise FileNotFoundError(f"audio file {f} not found")
        key = Path(f).stem
        if key in out:
            raise ValueError(f"two inputs share the name {key!r}; use a wav.scp with unique keys")
        out[key] = f
    return out
