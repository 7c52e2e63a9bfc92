#!/usr/bin/env python3
"""Training cost of one fold, three ways, side by side in one run (EmoDB, 2-core CPU):

  pooled   the default head (`pooled_mlp`): pool the cached features once (the cache is
           removed first, so pooling is paid), inner CV, final fit — the whole fold
  cached   the epoch-trained `baseline` head on cached features (SUPERB-style, frames read
           from the ark every epoch): seconds per epoch (epoch 1 excluded: warm-up)
  online   the same head the way s3prl's emotion task trains: the upstream runs inside every
           training step on the audio (no cache): seconds per epoch over `--online-epochs`

  tools/venv/bin/python bench/bench_heads.py --recipe egs/emodb --fold 1 \
      --whisper ../shared/models/whisper-base-encoder --json bench/results/heads_emodb.json
"""
import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from sertk.data.datadir import DataDir
from sertk.train.config import load_config
from sertk.train.trainer import train


def recipe_conf(recipe: Path, name: str) -> Path:
    """conf/<name> of the recipe, else TEMPLATE's (as ser.sh looks configs up)."""
    own = recipe / "conf" / name
    return own if own.exists() else Path(__file__).resolve().parents[1] / "egs" / "TEMPLATE" / "conf" / name


def online_epochs(recipe: Path, fold: int, whisper: str, epochs: int, batch_size: int = 32) -> float:
    """Seconds per epoch of the baseline head with the Whisper forward inside each step."""
    from sertk.data.audio import load_audio
    from sertk.data.dataset import collate
    from sertk.features.upstreams import build_upstream
    from sertk.models import build_model

    conf = load_config(recipe_conf(recipe, "train_baseline.yaml"))
    data = DataDir(recipe / "data" / "folds" / f"fold{fold}" / "train")
    emotions = data.emotions()
    up = build_upstream("whisper", {"name_or_path": whisper, "convention": "trimmed", "layers": "all"})
    model = build_model("baseline", conf["model_conf"], input_layers=7, input_dim=512, num_classes=len(emotions))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    utts = list(data.utts)
    secs = []
    for _ in range(epochs):
        t0 = time.time()
        for i in range(0, len(utts), batch_size):
            batch = utts[i: i + batch_size]
            wavs = [load_audio(u, *data.audio_source(u)) for u in batch]
            with torch.no_grad():
                feats = up(wavs)
            b = collate([{"utt": u, "feats": f, "emo": emotions.index(data.tables["utt2emo"][u])}
                         for u, f in zip(batch, feats)])
            loss = model.loss(model(b["feats"], b["lengths"]), b)
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs.append(time.time() - t0)
    return sum(secs) / len(secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="egs/emodb")
    ap.add_argument("--fold", type=int, default=1)
    ap.add_argument("--feat", default="whisper_base")
    ap.add_argument("--whisper", required=True)
    ap.add_argument("--cached-epochs", type=int, default=4)
    ap.add_argument("--online-epochs", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    logging.disable(logging.INFO)
    recipe = Path(a.recipe)
    fold = recipe / "data" / "folds" / f"fold{a.fold}"
    feat = recipe / "dump" / a.feat
    res = {"recipe": str(recipe), "fold": a.fold, "train_utts": len(DataDir(fold / "train").utts),
           "threads": torch.get_num_threads()}

    (feat / "pooled_stats.npz").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as exp:
        t0 = time.time()
        train(load_config(recipe_conf(recipe, "train_pooled_mlp.yaml")), fold / "train", fold / "valid", feat, exp)
        res["pooled_head_fold_seconds"] = round(time.time() - t0, 2)

    conf = load_config(recipe_conf(recipe, "train_baseline.yaml"),
                       [f"max_epochs={a.cached_epochs}", f"patience={a.cached_epochs + 1}", "refit=false",
                        "average_best=0"])
    with tempfile.TemporaryDirectory() as exp:
        train(conf, fold / "train", fold / "valid", feat, exp)
        hist = json.loads((Path(exp) / "history.json").read_text())
    res["cached_baseline_seconds_per_epoch"] = round(sum(h["seconds"] for h in hist[1:]) / (len(hist) - 1), 2)
    res["online_baseline_seconds_per_epoch"] = round(online_epochs(recipe, a.fold, a.whisper, a.online_epochs), 2)
    res["online_over_cached_per_epoch"] = round(res["online_baseline_seconds_per_epoch"]
                                                / res["cached_baseline_seconds_per_epoch"], 1)
    print(json.dumps(res, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
