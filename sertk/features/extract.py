"""`sertk extract`: run an upstream ONCE over a data dir and store kaldiio ark/scp.

Layout of the output dir:
  chunks/NNNNN.ark|.scp   fixed chunks of length-sorted utterances; a chunk's .scp is written
                          (atomically) after its .ark, so it marks the chunk finished
  feats.scp               merged index (sorted), written when every chunk is finished; its
                          ark paths are relative to this dir, so the dir can be moved
  feats_meta.json         layers, dim, frame rate, upstream and its config
Each stored matrix is (frames, num_layers * dim); FeatureReader restores (layers, frames, dim).
float32 features use Kaldi's binary matrix format; float16 uses kaldiio's numpy-in-ark format.
Shards (`--nj N --job j`) take every N-th chunk, so they can run as parallel jobs and an
interrupted run redoes at most the chunks that were in flight.
"""
import logging
import os
from pathlib import Path
from typing import List, Optional

import kaldiio
import numpy as np
from tqdm import tqdm

from sertk.data.audio import audio_info, audio_options, load_audio
from sertk.data.datadir import DataDir

from sertk.config import config_diff, dump_yaml, read_yaml
from sertk.fileio import atomic_path, read_table, write_json, write_table
from sertk.features.upstreams import build_upstream

log = logging.getLogger(__name__)


def utterance_durations(d: DataDir):
    if d.has("utt2dur"):
        return {u: float(v) for u, v in d.tables["utt2dur"].items()}
    out = {}
    for u in d.utts:
        src, start, end = d.audio_source(u)
        out[u] = (end - start) if start is not None and end else audio_info(u, src)[0]
    return out


def plan_chunks(d: DataDir, durs, chunk_utts: int) -> List[List[str]]:
    order = sorted(d.utts, key=lambda u: (durs[u], u))
    return [order[i: i + chunk_utts] for i in range(0, len(order), chunk_utts)]


def length_batches(utts: List[str], durs, batch_seconds: float, max_batch: int = 64):
    """Group length-sorted utterances so that padded audio stays under batch_seconds."""
    batches, cur = [], []
    for u in utts:
        longest = max([durs[x] for x in cur] + [durs[u]])
        if cur and (longest * (len(cur) + 1) > batch_seconds or len(cur) >= max_batch):
            batches.append(cur)
            cur = []
        cur.append(u)
    if cur:
        batches.append(cur)
    return batches


def extract_chunk(upstream, d: DataDir, utts, ark: Path, durs, batch_seconds, dtype, pbar=None,
                  audio_opts=None):
    feats = {}
    for batch in length_batches(utts, durs, batch_seconds):
        wavs = [load_audio(u, *d.audio_source(u), **(audio_opts or {})) for u in batch]
        outs = upstream(wavs)
        for u, x in zip(batch, outs):
            if x.shape[1] == 0:
                raise ValueError(f"utterance {u}: upstream produced no frames (audio too short)")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"utterance {u}: upstream produced NaN/Inf features "
                                 f"(audio {d.audio_source(u)[0]!r})")
            L, T, D = x.shape
            feats[u] = x.transpose(1, 0, 2).reshape(T, L * D).astype(dtype)
            meta = (L, D)
        if pbar is not None:
            pbar.update(len(batch))
    write_table(ark.with_suffix(".len"), [(u, str(x.shape[0])) for u, x in feats.items()])
    # Kaldi's binary matrix format has no float16: half precision is stored in kaldiio's
    # numpy-in-ark format (read back by kaldiio.load_mat / load_scp like any matrix).
    write_function = "numpy" if dtype == "float16" else None
    with atomic_path(ark.with_suffix(".scp")) as tmp:  # the scp commits the chunk
        kaldiio.save_ark(str(ark), feats, scp=str(tmp), write_function=write_function)
    return meta


def extract(data_dir, out_dir, conf: dict, nj: int = 1, job: Optional[int] = None,
            num_threads: Optional[int] = None, device: Optional[str] = None) -> bool:
    """Extract the chunks of shard `job` (all shards if None); merge when all are done.

    `conf` is a resolved extraction config (sertk.features.config); `device` ("cpu", "cuda")
    runs a neural upstream there. Returns True when feats.scp is complete.
    """
    import torch

    out_dir = Path(out_dir).resolve()
    audio_opts = audio_options(conf)  # a bad channel / level is refused before anything is written
    _check_same_config(out_dir, conf)  # finished or not: features of another config are refused
    if (out_dir / "feats.scp").exists():
        log.info("%s/feats.scp exists: extraction already finished", out_dir)
        return True
    upstream, upstream_conf, dtype = conf["upstream"], conf["upstream_conf"], conf["dtype"]
    batch_seconds = conf["batch_seconds"]
    d = DataDir(data_dir)
    durs = utterance_durations(d)
    chunks = plan_chunks(d, durs, conf["chunk_utts"])
    jobs = range(1, nj + 1) if job is None else [job]
    mine = [(i, c) for i, c in enumerate(chunks) if (i % nj) + 1 in jobs]
    todo = [(i, c) for i, c in mine if not (out_dir / "chunks" / f"{i:05d}.scp").exists()]
    if todo:
        torch.set_num_threads(num_threads or max(1, (os.cpu_count() or 1) // (nj if job else 1)))
        model = build_upstream(upstream, upstream_conf, device)
        (out_dir / "chunks").mkdir(parents=True, exist_ok=True)
        done = sum(len(c) for _, c in mine) - sum(len(c) for _, c in todo)
        with tqdm(total=sum(len(c) for _, c in mine), initial=done, unit="utt",
                  desc=f"extract {upstream} job {job or 'all'}") as pbar:
            for i, chunk in todo:
                L, D = extract_chunk(model, d, chunk, out_dir / "chunks" / f"{i:05d}.ark", durs,
                                     batch_seconds, dtype, pbar, audio_opts)
                write_json(out_dir / "chunks" / "meta.json", {
                    "num_layers": L, "dim": D, "frame_rate": model.frame_rate, "dtype": dtype,
                    "upstream": upstream, "upstream_conf": upstream_conf or {}, **model.describe()})
    return merge(d, out_dir, len(chunks))


def _check_same_config(out_dir: Path, conf: dict) -> None:
    """Chunks of a resumed run must come from the same config; record it on first use."""
    saved = out_dir / "extract.yaml"
    if saved.exists():
        old = read_yaml(saved)
        if old != conf:
            diff = config_diff(old, conf)
            raise ValueError(f"{out_dir} holds features of another config ({saved}; {diff}); "
                             f"remove the dir or choose another output dir")
    else:
        dump_yaml(conf, saved)


def merge(d: DataDir, out_dir: Path, num_chunks: int) -> bool:
    scps = [out_dir / "chunks" / f"{i:05d}.scp" for i in range(num_chunks)]
    if not all(p.exists() for p in scps):
        return False
    table, lens = {}, {}
    for p in scps:
        # ark paths relative to the feature dir: the dir stays valid when moved or copied
        table.update({u: os.path.relpath(loc, out_dir) for u, loc in read_table(p).items()})
        lens.update(read_table(p.with_suffix(".len")))
    missing = [u for u in d.utts if u not in table]
    if missing:
        raise ValueError(f"{out_dir}: no features for {len(missing)} utterance(s), e.g. {missing[0]}")
    import json

    meta = json.loads((out_dir / "chunks" / "meta.json").read_text())
    write_json(out_dir / "feats_meta.json", meta)
    write_table(out_dir / "utt2num_frames", lens.items())
    write_table(out_dir / "feats.scp", table.items())  # last: marks the extraction finished
    return True
