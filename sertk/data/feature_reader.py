"""Reading a feature dump (`sertk extract` output: feats.scp, ark chunks, feats_meta.json,
utt2num_frames): the data layer's view of cached features, used by datasets, the predictor and
anyone reading a dump (`FeatureReader("dump/X")[utt]`)."""
import json
from pathlib import Path

import kaldiio
import numpy as np

from sertk.fileio import read_table


class FeatureReader:
    """Lazy random access to extracted features: (layers, frames, dim) float32 arrays."""

    def __init__(self, feat_dir):
        self.dir = Path(feat_dir)
        scp = self.dir / "feats.scp"
        if not scp.exists():
            raise FileNotFoundError(f"{scp} not found: run the extraction stage first")
        self.meta = json.loads((self.dir / "feats_meta.json").read_text())
        self.scp = read_table(scp)
        self.L, self.D = self.meta["num_layers"], self.meta["dim"]
        self.lengths = {u: int(n) for u, n in read_table(self.dir / "utt2num_frames").items()}

    def __contains__(self, utt):
        return utt in self.scp

    def __getitem__(self, utt) -> np.ndarray:
        if utt not in self.scp:
            raise KeyError(f"utterance {utt}: no features in {self.dir}/feats.scp")
        import torch

        # torch converts float16 and checks finiteness ~10x faster than numpy; a NaN/Inf
        # anywhere makes the sum non-finite.
        raw = kaldiio.load_mat(str(self.dir / self.scp[utt]))
        x = torch.from_numpy(raw if raw.flags.writeable else raw.copy()).float()
        if not torch.isfinite(x.sum()):
            raise ValueError(f"utterance {utt}: NaN/Inf in stored features ({self.scp[utt]})")
        return x.numpy().reshape(x.shape[0], self.L, self.D).transpose(1, 0, 2)
