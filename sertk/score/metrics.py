"""Metrics. WA = accuracy; UA = mean per-class recall over the classes present in the
reference (a test speaker may lack a class); macro-F1 over those same classes."""
from typing import Dict, List, NamedTuple, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score


class Metric(NamedTuple):
    name: str              # as tables print it
    classes: bool          # a class-label metric (vs V/A/D regression)
    percent: bool          # shown x 100
    higher_is_better: bool


# Every metric, once: `sertk score` writes these keys, reports/`sertk compare`/the CLI show them,
# the trainer selects on them (`select_metric`, valid split only).
METRICS = {
    "wa": Metric("WA", True, True, True), "ua": Metric("UA", True, True, True),
    "macro_f1": Metric("macro-F1", True, True, True), "weighted_f1": Metric("weighted-F1", True, True, True),
    "gender_acc": Metric("gender acc", True, True, True), "style_acc": Metric("expression acc", True, True, True),
    "ccc_v": Metric("CCC V", False, False, True), "ccc_a": Metric("CCC A", False, False, True),
    "ccc_d": Metric("CCC D", False, False, True), "ccc": Metric("mean CCC", False, False, True),
    "mae_v": Metric("MAE V", False, False, False), "mae_a": Metric("MAE A", False, False, False),
    "mae_d": Metric("MAE D", False, False, False),
    "loss": Metric("loss", False, False, False),
}
SELECTABLE = ("ua", "wa", "ccc", "loss")  # what the trainer can select epochs and settings on


def is_better(metric: str, new: float, best) -> bool:
    if best is None:
        return True
    return new > best if METRICS[metric].higher_is_better else new < best


def classification_metrics(ref: Sequence[str], hyp: Sequence[str], labels: List[str]) -> Dict:
    if len(ref) != len(hyp) or not ref:
        raise ValueError(f"need equally many references and hypotheses (got {len(ref)}, {len(hyp)})")
    present = [l for l in labels if l in set(ref)]
    recalls = recall_score(ref, hyp, labels=present, average=None, zero_division=0)
    return {
        "num_utts": len(ref),
        "wa": float(accuracy_score(ref, hyp)),
        "ua": float(np.mean(recalls)),
        "macro_f1": float(f1_score(ref, hyp, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(ref, hyp, labels=present, average="weighted", zero_division=0)),
        "recall": {l: float(r) for l, r in zip(present, recalls)},
        "labels": list(labels),
        "confusion": confusion_matrix(ref, hyp, labels=labels).tolist(),
    }


def ua_from_indices(ref_idx, hyp_idx) -> float:
    """UA over integer labels (used for model selection on the valid split)."""
    ref_idx, hyp_idx = np.asarray(ref_idx), np.asarray(hyp_idx)
    return float(np.mean([np.mean(hyp_idx[ref_idx == c] == c) for c in np.unique(ref_idx)]))


def ccc(x, y) -> float:
    """Lin's concordance correlation coefficient."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    return float(2 * cov / (x.var() + y.var() + (mx - my) ** 2 + 1e-12))


AVD_DIMS = ("v", "a", "d")  # utt2avd column order: valence arousal dominance


def avd_metrics(ref, hyp) -> Dict:
    """CCC and MAE per dimension over the rows with a finite reference, and the mean CCC."""
    ref, hyp = np.asarray(ref, dtype=np.float64), np.asarray(hyp, dtype=np.float64)
    out, cccs = {}, []
    for k, dim in enumerate(AVD_DIMS):
        keep = np.isfinite(ref[:, k])
        if keep.sum() < 2:
            continue
        out[f"ccc_{dim}"] = ccc(hyp[keep, k], ref[keep, k])
        out[f"mae_{dim}"] = float(np.mean(np.abs(hyp[keep, k] - ref[keep, k])))
        cccs.append(out[f"ccc_{dim}"])
    if cccs:
        out["ccc"] = float(np.mean(cccs))
    return out
