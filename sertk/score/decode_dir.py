"""The decode-dir format `sertk infer` writes and `sertk fuse` / `sertk score` read: posteriors.txt
('# utt <class> ...' header, one row of posteriors per utterance) with utt2emo_hyp (its argmax) for a
classifier, utt2avd_hyp (valence arousal dominance) for a regressor. The one place that reads and
writes it; here (below infer) so that scoring code can use it too."""
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from sertk.data.datadir import parse_avd
from sertk.fileio import read_table, write_table, write_text


def hyp_name(kind: str) -> str:
    """The decode-dir file of one predicted kind: utt2emo_hyp, utt2avd_hyp, utt2gender_hyp, ..."""
    return f"utt2{kind}_hyp"


POSTERIORS = "posteriors.txt"
AVD = hyp_name("avd")


def read_posteriors(path) -> Tuple[List[str], Dict[str, np.ndarray]]:
    """(class names, utt -> posteriors) of a posteriors.txt ('# utt c1 c2 ...' header)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or not lines[0].startswith("# utt "):
        raise ValueError(f"{path}: not a posteriors file (first line must be '# utt <class> ...')")
    classes = lines[0].split()[2:]
    post = {}
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts:
            continue
        try:
            values = np.array([float(v) for v in parts[1:]])
        except ValueError:
            values = np.array([])
        if len(values) != len(classes):
            raise ValueError(f"{path}:{n}: {parts[0]}: expected {len(classes)} posteriors")
        post[parts[0]] = values
    return classes, post


def read_avd(path, unlabelled_ok: bool = True) -> Dict[str, np.ndarray]:
    """utt -> (valence, arousal, dominance) of a utt2avd or utt2avd_hyp (NaN for a reference's
    `-`; a prediction has no such gaps: unlabelled_ok=False)."""
    out = {}
    for utt, text in read_table(path).items():
        try:
            out[utt] = np.array(parse_avd(text))
        except ValueError:
            out[utt] = np.array([])
        if len(out[utt]) != 3 or not (unlabelled_ok or np.isfinite(out[utt]).all()):
            raise ValueError(f"{path}: {utt}: expected valence arousal dominance, got {text!r}")
    return out


def write_posteriors(out_dir, classes, post: Dict[str, np.ndarray]) -> Dict[str, str]:
    """posteriors.txt ('# utt <class> ...' header) and utt2emo_hyp (the argmax) of a decode dir;
    returns utt -> predicted class."""
    out, utts = Path(out_dir), sorted(post)
    hyp = {u: classes[int(np.argmax(post[u]))] for u in utts}
    write_table(out / hyp_name("emo"), hyp.items())
    write_text(out / POSTERIORS, "# utt " + " ".join(classes) + "\n" + "".join(
        f"{u} " + " ".join(f"{p:.5f}" for p in post[u]) + "\n" for u in utts))
    return hyp


def write_avd(out_dir, avd: Dict[str, np.ndarray]) -> None:
    """utt2avd_hyp (valence arousal dominance) of a decode dir."""
    write_table(Path(out_dir) / AVD, [(u, " ".join(f"{v:.4f}" for v in avd[u])) for u in sorted(avd)])
