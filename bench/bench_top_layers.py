#!/usr/bin/env python3
"""Fine-tuning only the top layers of a speech encoder, from a cache of the frozen part
(`speech_encoder.train_top_layers: k`), against fine-tuning the whole transformer (CNN frozen):
seconds per training epoch of GMP-ATL's stage-A model (encoder -> Bi-LSTM -> emotion + gender)
on the first N utterances of a training split, and the largest difference between the cached
and the on-the-fly outputs of the same model (eval mode).

  tools/venv/bin/python bench/bench_top_layers.py --encoder ../shared/models/whisper-base-encoder \
      --data-dir egs/emodb/data/folds/fold1/train --emotions egs/emodb/data/emotions.txt --utts 96 --top 2 --epochs 3 --json bench/results/top_layers_emodb.json
"""
import argparse
import json
import logging
import time
from pathlib import Path

import torch

from sertk.data.audio_dataset import AudioTextDataset, collate_audio
from sertk.models.registry import build_model


def epoch_seconds(model, items, batch_size, epochs):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    times = []
    for _ in range(epochs):
        t0 = time.time()
        for i in range(0, len(items), batch_size):
            batch = collate_audio(items[i: i + batch_size])
            loss = model.loss(model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(round(time.time() - t0, 1))
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", required=True, help="Whisper encoder dir (or hub name)")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--emotions", required=True, help="the recipe's data/emotions.txt")
    ap.add_argument("--utts", type=int, default=96)
    ap.add_argument("--top", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    logging.disable(logging.INFO)
    ds = AudioTextDataset(a.data_dir, Path(a.emotions).read_text().split())
    items = [ds[i] for i in range(min(a.utts, len(ds)))]
    res = {"utts": len(items), "audio_seconds": round(sum(len(x["wav"]) for x in items) / 16000, 1),
           "batch_size": a.batch_size, "threads": torch.get_num_threads(), "top_layers": a.top}
    for k in (0, a.top):
        torch.manual_seed(0)
        enc = {"name_or_path": a.encoder, "source": "whisper", "freeze_cnn": True, "train_top_layers": k}
        model = build_model("gmp_atl", {"stage": "A", "speech_encoder": enc}, num_classes=len(ds.emotions))
        res[f"epoch_seconds_top{k}" if k else "epoch_seconds_all_layers"] = epoch_seconds(model, items, a.batch_size, a.epochs)
        if k:
            model.eval()
            batch = collate_audio(items[: a.batch_size])
            with torch.no_grad():
                cached, _ = model.speech(batch["wav"], batch["wav_lengths"], batch["utt"])
                fly, _ = model.speech(batch["wav"], batch["wav_lengths"])
            res["max_abs_diff_cached_vs_on_the_fly"] = float((cached - fly).abs().max())
    full = res["epoch_seconds_all_layers"]
    top = res[f"epoch_seconds_top{a.top}"]
    res["speedup_after_first_epoch"] = round(sum(full[1:]) / max(sum(top[1:]), 1e-9), 2)
    res["speedup_first_epoch"] = round(full[0] / top[0], 2)
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
