"""`sertk units`: frame-level pseudo-labels (GMP-ATL stage B). The encoder of a trained audio
model (stage A) encodes every utterance; one layer's frames (default the third-to-last) of
the FIT split alone are clustered by scikit-learn's MiniBatchKMeans at several scales, and
every frame of the given data dirs gets its cluster id at each scale.

Output per scale: <out>/k<K>/units.{ark,scp} (int32 per utterance, one id per encoder frame)
and centroids.npy (the k-means centres); <out>/units.done marks a finished run (a rerun with the
same settings is a no-op; other settings are refused).
"""
import json
import logging
from pathlib import Path
from typing import Dict, List

import kaldiio
import numpy as np
import torch
from tqdm import tqdm

from sertk.data.audio_dataset import AudioTextDataset, collate_audio
from sertk.data.dataset import to_device
from sertk.fileio import atomic_path, write_json

log = logging.getLogger(__name__)


@torch.no_grad()
def encoder_frames(model, data_dir, layer: int, batch_size: int = 8, device: str = "cpu") -> Dict[str, np.ndarray]:
    """utt -> (frames, dim) float32 of hidden layer `layer` of the model's speech encoder (SERModel.speech_encoder)."""
    speech = model.speech_encoder()
    if speech is None:
        raise ValueError("`sertk units` needs a model that runs a speech encoder on audio (gmp_atl, mmer)")
    states_n = speech.num_states
    if not -states_n <= layer < states_n:
        raise ValueError(f"layer {layer}: the speech encoder has {states_n} hidden states (its input embedding "
                         f"and {states_n - 1} layers), so -{states_n} to {states_n - 1}")
    if speech.top and not speech.cache_all_layers and layer % states_n < speech.cut:  # refused before any encoding
        raise ValueError(f"layer {layer} lies below the speech encoder's trained layers, whose states are not "
                         "kept: cluster a trained layer or set speech_encoder.cache_all_layers=true")
    ds = AudioTextDataset(data_dir, require_labels=False)
    order = sorted(range(len(ds)), key=lambda i: ds.lengths[i])
    out = {}
    for k in tqdm(range(0, len(order), batch_size), desc=f"encode {Path(data_dir).name}"):
        batch = to_device(collate_audio([ds[i] for i in order[k: k + batch_size]]), device)
        states, lens = speech.hidden_states(batch["wav"], batch["wav_lengths"])
        x = states[layer].float().cpu().numpy()
        for u, h, n in zip(batch["utt"], x, lens.tolist()):
            out[u] = h[:n]
    return out


def fit_kmeans(frames: List[np.ndarray], k: int, seed: int = 0, max_frames: int = 500_000, n_init: int = 1):
    """MiniBatchKMeans on the stacked frames (a random subset of max_frames when larger).
    One k-means++ run by default (scikit-learn's own default for k-means++): each extra run
    repeats the whole fit, which at 4096 clusters dominates stage B (bench/bench_kmeans.py)."""
    from sklearn.cluster import MiniBatchKMeans

    x = np.concatenate(frames)
    if len(x) > max_frames:
        x = x[np.random.default_rng(seed).choice(len(x), max_frames, replace=False)]
    if len(x) < k:
        raise ValueError(f"{len(x)} frames cannot make {k} clusters: use fewer clusters or more data")
    return MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=max(1024, 4 * k), n_init=n_init).fit(x)


def make_units(model_path, fit_dir, label_dirs, out_dir, clusters=(64, 512, 4096), layer: int = -3,
               seed: int = 0, max_frames: int = 500_000, device: str = "cpu", n_init: int = 1) -> dict:
    from sertk.models.checkpoint import load_model

    out = Path(out_dir)
    want = {"model": str(model_path), "fit_dir": str(fit_dir), "label_dirs": [str(d) for d in label_dirs],
            "layer": layer, "clusters": [int(k) for k in clusters], "n_init": n_init, "max_frames": max_frames,
            "seed": seed}
    if (out / "units.done").exists():  # finished: only with the settings it was made with
        info = json.loads((out / "units.done").read_text())
        other = {k: (info.get(k), v) for k, v in want.items() if k in info and info[k] != v}
        if other:
            raise ValueError(f"{out} holds units made with other settings ("
                             + ", ".join(f"{k} {a!r}, now {b!r}" for k, (a, b) in other.items())
                             + "): choose another output dir or remove it")
        return info
    model, _ = load_model(model_path, device)
    fit = encoder_frames(model, fit_dir, layer, device=device)
    frames = dict(fit)
    for d in label_dirs:
        frames.update(encoder_frames(model, d, layer, device=device))
    info = dict(want, fit_frames=int(sum(len(f) for f in fit.values())))
    for k in clusters:
        log.info("k-means with %d clusters on %d frames of %s", k, info["fit_frames"], fit_dir)
        km = fit_kmeans(list(fit.values()), int(k), seed, max_frames, n_init)
        d = out / f"k{k}"
        d.mkdir(parents=True, exist_ok=True)
        with atomic_path(d / "centroids.npy") as tmp:  # plain array: nothing to unpickle
            with open(tmp, "wb") as f:
                np.save(f, km.cluster_centers_.astype(np.float32))
        labels = {u: km.predict(f).astype(np.int32) for u, f in frames.items()}
        with atomic_path(d / "units.scp") as scp:
            kaldiio.save_ark(str(d / "units.ark"), labels, scp=str(scp))
        info[f"k{k}_used"] = int(len(np.unique(np.concatenate(list(labels.values())))))
    write_json(out / "units.done", info)
    return info


