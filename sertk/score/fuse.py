"""Late fusion of runs: the mean of several decode dirs' outputs for the same utterances.

Runs of one system with different seeds (or different systems on the same split) each write
posteriors.txt / utt2avd_hyp (`sertk infer`). Their mean is the ensemble the default head builds
inside one model (it averages its MLPs' posteriors), here over whole runs: a fused decode dir that
`sertk score` scores like any other. Every input must cover the same utterances with the same
classes, so a fused score never silently drops or misaligns one.
"""
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from sertk.data.datadir import SEEN_SPEAKERS
from sertk.fileio import write_text
from sertk.score.decode_dir import AVD, POSTERIORS, read_avd, read_posteriors, write_avd, write_posteriors


def _same_utterances(tables: Sequence[dict], paths: Sequence[Path]) -> List[str]:
    utts = set(tables[0])
    for t, p in zip(tables[1:], paths[1:]):
        if set(t) != utts:
            diff = sorted(utts ^ set(t))
            raise ValueError(f"{p}: other utterances than {paths[0]} ({len(diff)} differ, e.g. {diff[0]})")
    return sorted(utts)


def fuse_decodes(decode_dirs: Sequence, out_dir) -> Dict[str, int]:
    """Write the mean of the decode dirs' posteriors (-> posteriors.txt, utt2emo_hyp: the argmax)
    and V/A/D (-> utt2avd_hyp) to out_dir. An output kind must be in every dir or in none. Returns
    {kind: number of utterances} of what was fused."""
    dirs = [Path(d) for d in decode_dirs]
    if len(dirs) < 2:
        raise ValueError("fusion needs at least two decode dirs")
    out, fused = Path(out_dir), {}
    for name in (POSTERIORS, AVD):
        present = [d for d in dirs if (d / name).exists()]
        if not present:
            continue
        if len(present) != len(dirs):
            missing = next(d for d in dirs if not (d / name).exists())
            raise ValueError(f"{missing}: no {name} (the other decode dirs have one)")
        paths = [d / name for d in dirs]
        if name == POSTERIORS:
            read = [read_posteriors(p) for p in paths]
            classes = read[0][0]
            for (c, _), p in zip(read[1:], paths[1:]):
                if c != classes:
                    raise ValueError(f"{p}: classes {' '.join(c)} differ from {paths[0]}'s {' '.join(classes)}")
            tables = [t for _, t in read]
        else:
            tables = [read_avd(p, unlabelled_ok=False) for p in paths]
        utts = _same_utterances(tables, paths)
        mean = {u: np.mean([t[u] for t in tables], axis=0) for u in utts}
        if name == POSTERIORS:
            write_posteriors(out, classes, mean)
        else:
            write_avd(out, mean)
        fused[name] = len(utts)
    if not fused:
        raise ValueError(f"{dirs[0]}: no {POSTERIORS} or {AVD} to fuse")
    seen = sorted({s for d in dirs if (d / SEEN_SPEAKERS).exists() for s in (d / SEEN_SPEAKERS).read_text().split()})
    if seen:  # any input saw a test speaker: so does the fusion (`sertk score` refuses it)
        write_text(out / SEEN_SPEAKERS, "".join(s + "\n" for s in seen))
    return fused
