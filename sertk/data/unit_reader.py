"""Reading frame labels (`sertk units` output: units.scp per cluster scale) for datasets."""
from pathlib import Path

import kaldiio
import numpy as np


class UnitReader:
    """Frame labels of one scale: utt -> int64 array."""

    def __init__(self, unit_dir):
        self.dir = Path(unit_dir)
        if not (self.dir / "units.scp").exists():
            raise FileNotFoundError(f"{self.dir}/units.scp not found: run `sertk units` (GMP-ATL stage B) first")
        self.scp = kaldiio.load_scp(str(self.dir / "units.scp"))

    def __getitem__(self, utt):
        if utt not in self.scp:
            raise KeyError(f"utterance {utt}: no frame labels in {self.dir}/units.scp")
        return np.asarray(self.scp[utt], dtype=np.int64)
