"""Datasets over cached features, batched by length.

Features are read lazily from the kaldiio ark (nothing is held in RAM beyond a batch).
"""
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from sertk.data.datadir import DataDir
from sertk.features.extract import FeatureReader


class FeatureDataset(Dataset):
    """Items: utterance id, features (layers, frames, dim), and whatever labels exist."""

    def __init__(self, data_dir, feat_dir, emotions: Optional[List[str]] = None,
                 require_labels: bool = True):
        self.data = DataDir(data_dir)
        self.reader = FeatureReader(feat_dir)
        self.utts = list(self.data.utts)
        missing = [u for u in self.utts if u not in self.reader]
        if missing:
            raise KeyError(f"{len(missing)} utterance(s) of {self.data.path} have no features in "
                           f"{self.reader.dir}, e.g. {missing[0]}")
        self.emotions = emotions
        self.emo_index = {e: i for i, e in enumerate(emotions or [])}
        if require_labels and emotions is not None:
            u2e = self.data.table("utt2emo")
            for u in self.utts:
                if u2e[u] not in self.emo_index:
                    raise ValueError(f"{self.data.path}/utt2emo: utterance {u}: unknown emotion "
                                     f"{u2e[u]!r} (inventory: {' '.join(emotions)})")
        self.lengths = [self.reader.lengths[u] for u in self.utts]

    def __len__(self):
        return len(self.utts)

    def __getitem__(self, i) -> Dict:
        utt = self.utts[i]
        item = {"utt": utt, "feats": self.reader[utt]}
        if self.data.has("utt2emo") and self.data.tables["utt2emo"][utt] in self.emo_index:
            item["emo"] = self.emo_index[self.data.tables["utt2emo"][utt]]
        return item

    def labels(self) -> np.ndarray:
        u2e = self.data.table("utt2emo")
        return np.array([self.emo_index[u2e[u]] for u in self.utts])


def collate(items: List[Dict]) -> Dict:
    """Pad features to the longest item; `lengths` carries the real frame counts."""
    L, _, D = items[0]["feats"].shape
    lens = torch.tensor([it["feats"].shape[1] for it in items])
    feats = torch.zeros(len(items), L, int(lens.max()), D)
    for i, it in enumerate(items):
        feats[i, :, : it["feats"].shape[1]] = torch.from_numpy(it["feats"])
    batch = {"utt": [it["utt"] for it in items], "feats": feats, "lengths": lens}
    if all("emo" in it for it in items):
        batch["emo"] = torch.tensor([it["emo"] for it in items])
    return batch


class LengthBatchSampler(torch.utils.data.Sampler):
    """Batches of similar length (little padding), shuffled per epoch with a fixed seed.

    Under DDP each rank takes every world-th batch; every rank gets the same number of
    batches so no process waits forever on a collective.
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        self.lengths, self.batch_size, self.shuffle, self.seed = lengths, batch_size, shuffle, seed
        self.rank, self.world = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def _batches(self):
        rng = random.Random(self.seed * 100003 + self.epoch)
        idx = list(range(len(self.lengths)))
        if self.shuffle:
            rng.shuffle(idx)  # random tie-breaking among equal lengths
        idx.sort(key=lambda i: self.lengths[i])
        batches = [idx[i: i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        if self.world > 1:  # equal counts per rank (a few batches per epoch may be dropped)
            batches = batches[self.rank:: self.world][: len(batches) // self.world]
        return batches

    def __iter__(self):
        return iter(self._batches())

    def __len__(self):
        return len(self._batches())
