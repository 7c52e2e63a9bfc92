"""Datasets over cached features, batched by length.

Features are read lazily from the kaldiio ark (nothing is held in RAM beyond a batch).
"""
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from sertk.data.datadir import ATTRIBUTES, NO_LABEL, DataDir
from sertk.data.feature_reader import FeatureReader



class LabelledUtterances(Dataset):
    """The utterances of a data dir with every label kind it has: `emo` (class index, -1 =
    none), `avd` (3 floats, NaN = none) and the auxiliary attributes (`gender` 0 f / 1 m,
    `style` 0 acted / 1 spontaneous; -1 = none). Subclasses add the input."""

    def __init__(self, data_dir, emotions: Optional[List[str]] = None, require_labels: bool = True):
        self.data = DataDir(data_dir)
        self.utts = list(self.data.utts)
        self.emotions = emotions
        self.emo_index = {e: i for i, e in enumerate(emotions or [])}
        self.emo = self.avd = None
        if self.data.has("utt2emo") and emotions:
            u2e = self.data.tables["utt2emo"]
            for u in self.utts:
                if require_labels and u2e[u] != NO_LABEL and u2e[u] not in self.emo_index:
                    raise ValueError(f"{self.data.path}/utt2emo: utterance {u}: unknown emotion "
                                     f"{u2e[u]!r} (inventory: {' '.join(emotions)})")
            self.emo = np.array([self.emo_index.get(u2e[u], -1) for u in self.utts])
        if self.data.has("utt2avd"):
            self.avd = np.array([self.data.utt2avd(u) for u in self.utts], dtype=np.float32)
        self.attributes = {}  # name -> class index per utterance
        for name, classes in ATTRIBUTES.items():
            values = self.data.attribute(name)
            if values is not None:
                index = {c: i for i, c in enumerate(classes)}
                self.attributes[name] = np.array([index.get(values[u], -1) for u in self.utts])

    def __len__(self):
        return len(self.utts)

    def label_item(self, i) -> Dict:
        item = {"utt": self.utts[i]}
        for key in ("emo", "avd"):
            labels = getattr(self, key)
            if labels is not None:
                item[key] = labels[i]
        for name, labels in self.attributes.items():
            item[name] = labels[i]
        return item

    def labels(self) -> np.ndarray:
        """Class indices of the utterances that have a categorical label."""
        if self.emo is None:
            return np.zeros(0, dtype=int)
        return self.emo[self.emo >= 0]

    def avd_stats(self):
        """Mean and std of each dimension over the labelled utterances (None if no utt2avd)."""
        if self.avd is None or np.isnan(self.avd).all():
            return None
        return np.nanmean(self.avd, 0), np.maximum(np.nanstd(self.avd, 0), 1e-6)


def split_feat_dirs(feat_dir) -> List[str]:
    """One feature dir, a list of them, or "dump/a,dump/b" (several streams per utterance)."""
    if isinstance(feat_dir, (list, tuple)):
        return [str(d) for d in feat_dir]
    return [d for d in str(feat_dir).split(",") if d]


class FeatureDataset(LabelledUtterances):
    """Items: utterance id, cached features (layers, frames, dim) and the labels. With several
    feature dirs (streams, e.g. Whisper + spectrogram + MFCC) `feats` is a tuple with one
    array per stream; batches are formed by the length of the first stream."""

    def __init__(self, data_dir, feat_dir, emotions: Optional[List[str]] = None,
                 require_labels: bool = True):
        super().__init__(data_dir, emotions, require_labels)
        self.readers = [FeatureReader(d) for d in split_feat_dirs(feat_dir)]
        self.reader = self.readers[0]
        for reader in self.readers:
            missing = [u for u in self.utts if u not in reader]
            if missing:
                raise KeyError(f"{len(missing)} utterance(s) of {self.data.path} have no features in "
                               f"{reader.dir}, e.g. {missing[0]}")
        self.lengths = [self.reader.lengths[u] for u in self.utts]
        self.meta = self.reader.meta if len(self.readers) == 1 else {"streams": [r.meta for r in self.readers]}

    @property
    def multi_stream(self) -> bool:
        return len(self.readers) > 1

    def input_io(self) -> Dict:
        """The model constructor arguments the features decide (a list per stream when several)."""
        if not self.multi_stream:
            return {"input_layers": self.reader.L, "input_dim": self.reader.D}
        return {"input_layers": [r.L for r in self.readers], "input_dim": [r.D for r in self.readers]}

    def __getitem__(self, i) -> Dict:
        item = self.label_item(i)
        u = self.utts[i]
        item["feats"] = tuple(r[u] for r in self.readers) if self.multi_stream else self.reader[u]
        return item


def collate(items: List[Dict]) -> Dict:
    """Pad features to the longest item; `lengths` carries the real frame counts; label
    tensors keep their "missing" markers (-1, NaN) for the losses to mask. Several streams
    (tuples) are padded each on its own: `feats` and `lengths` are then lists."""
    if isinstance(items[0]["feats"], tuple):
        streams = [_pad([it["feats"][k] for it in items]) for k in range(len(items[0]["feats"]))]
        batch = {"utt": [it["utt"] for it in items], "feats": [f for f, _ in streams],
                 "lengths": [n for _, n in streams]}
        return collate_labels(items, batch)
    feats, lens = _pad([it["feats"] for it in items])
    return collate_labels(items, {"utt": [it["utt"] for it in items], "feats": feats, "lengths": lens})


def to_device(batch: Dict, device) -> Dict:
    """Move a batch's tensors (and lists of tensors: several streams) to device."""
    def move(v):
        if torch.is_tensor(v):
            return v.to(device)
        if isinstance(v, list) and v and torch.is_tensor(v[0]):
            return [x.to(device) for x in v]
        return v
    return {k: move(v) for k, v in batch.items()}


def _pad(arrays):
    L, _, D = arrays[0].shape
    lens = torch.tensor([a.shape[1] for a in arrays])
    feats = torch.zeros(len(arrays), L, int(lens.max()), D)
    for i, a in enumerate(arrays):
        feats[i, :, : a.shape[1]] = torch.from_numpy(a)
    return feats, lens


def collate_labels(items: List[Dict], batch: Dict) -> Dict:
    """Add the label kinds every item has to batch."""
    if all("emo" in it for it in items):
        batch["emo"] = torch.tensor([int(it["emo"]) for it in items])
    if all("avd" in it for it in items):
        batch["avd"] = torch.from_numpy(np.stack([it["avd"] for it in items]).astype(np.float32))
    for name in ATTRIBUTES:
        if all(name in it for it in items):
            batch[name] = torch.tensor([int(it[name]) for it in items])
    return batch


class LengthBatchSampler(torch.utils.data.Sampler):
    """Batches of similar length (little padding), shuffled per epoch with a fixed seed.

    Under DDP each rank takes every world-th batch; every rank gets the same number of
    batches so no process waits forever on a collective.
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world_size: int = 1, min_batch: int = 1):
        self.lengths, self.batch_size, self.shuffle, self.seed = lengths, batch_size, shuffle, seed
        self.min_batch = min_batch  # a last batch smaller than this joins the one before it
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
        if len(batches) > 1 and len(batches[-1]) < self.min_batch:
            batches[-2].extend(batches.pop())
        if self.shuffle:
            rng.shuffle(batches)
        if self.world > 1:  # equal counts per rank (a few batches per epoch may be dropped)
            batches = batches[self.rank:: self.world][: len(batches) // self.world]
        return batches

    def __iter__(self):
        return iter(self._batches())

    def __len__(self):
        return len(self._batches())
