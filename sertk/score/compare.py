"""`sertk compare`: paired comparison of systems scored on the same folds.

Each system is a RESULTS.json of `sertk aggregate`. The first is the reference; every other one
is compared with it fold by fold: the per-fold differences of a metric, their mean with a 95%
bootstrap interval (resampling folds), and the Wilcoxon signed-rank p-value (scipy). Systems
whose folds test different speakers (or a different number of utterances) are refused: a
difference between unpaired runs says nothing. A PNG shows each fold's pair of scores.
"""
import json
from pathlib import Path
from typing import Dict, List

import numpy as np

from sertk.fileio import atomic_path, write_text
from sertk.score.metrics import METRICS



def load_runs(files) -> List[Dict]:
    runs = []
    for f in files:
        p = Path(f)
        if p.is_dir():
            p = p / "RESULTS.json"
        if not p.exists():
            raise FileNotFoundError(f"{p} not found (give exp/<tag>/RESULTS.json or exp/<tag>)")
        runs.append({"name": p.parent.name, "file": str(p), **json.loads(p.read_text())})
    return runs


def _fold_key(fold: Dict):
    return tuple(sorted(fold.get("speakers", []))), fold.get("num_utts")


def check_paired(runs: List[Dict]) -> None:
    ref = runs[0]
    for r in runs[1:]:
        if [_fold_key(f) for f in r["folds"]] != [_fold_key(f) for f in ref["folds"]]:
            raise ValueError(f"{r['file']} and {ref['file']} were not scored on the same folds "
                             "(test speakers or utterance counts differ): no paired comparison")


def bootstrap_interval(diff: np.ndarray, n: int = 10000, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def compare(files, metric: str = "ua", out_file=None, png=None) -> str:
    from scipy.stats import wilcoxon

    runs = load_runs(files)
    if len(runs) < 2:
        raise ValueError("give at least two systems (the first is the reference)")
    check_paired(runs)
    missing = [r["file"] for r in runs if any(metric not in f for f in r["folds"])]
    if missing:
        raise ValueError(f"metric {metric!r} missing from the folds of {missing[0]}")
    scale = 100.0 if METRICS[metric].percent else 1.0
    unit = " (points)" if scale == 100 else ""
    ref = runs[0]
    nd = 2 if scale == 100 else 3  # decimals: points of a percentage, or CCC
    a = np.array([f[metric] for f in ref["folds"]]) * scale
    lines = [f"Paired comparison on {len(a)} folds, metric {metric}{unit}; reference `{ref['name']}` "
             f"(per-fold mean {a.mean():.{nd}f}"
             + (f", pooled {scale * ref['pooled'][metric]:.{nd}f}" if metric in ref.get("pooled", {}) else "") + ").", "",
             "| system | per-fold mean | pooled | mean difference | 95% bootstrap CI | Wilcoxon p | folds better / worse |",
             "|---|---|---|---|---|---|---|"]
    rows = []
    for r in runs[1:]:
        b = np.array([f[metric] for f in r["folds"]]) * scale
        d = b - a
        lo, hi = bootstrap_interval(d)
        p = float(wilcoxon(b, a).pvalue) if np.any(d != 0) else 1.0
        pooled = scale * r["pooled"][metric] if metric in r.get("pooled", {}) else None
        pooled_ref = scale * ref["pooled"][metric] if metric in ref.get("pooled", {}) else None
        pooled_txt = "-" if pooled is None else f"{pooled:.{nd}f}" + (
            f" ({pooled - pooled_ref:+.{nd}f})" if pooled_ref is not None else "")
        rows.append((r["name"], b, d))
        lines.append(f"| {r['name']} | {b.mean():.{nd}f} | {pooled_txt} | {d.mean():+.{nd}f} | [{lo:+.{nd}f}, {hi:+.{nd}f}] "
                     f"| {p:.3g} | {(d > 0).sum()} / {(d < 0).sum()} |")
    lines += ["", "Per-fold differences (system - reference): "]
    lines += [f"- {name}: " + " ".join(f"{x:+.{nd}f}" for x in d) for name, _, d in rows]
    text = "\n".join(lines) + "\n"
    if out_file:
        write_text(out_file, text)
    if png:
        plot_pairs(ref["name"], a, rows, metric + unit, png)
    return text


def plot_pairs(ref_name, a, rows, label, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(3.6 * len(rows), 3.4), squeeze=False)
    for ax, (name, b, _) in zip(axes[0], rows):
        for x, y in zip(a, b):
            ax.plot([0, 1], [x, y], "-o", color="tab:green" if y > x else "tab:red" if y < x else "grey", alpha=0.7)
        ax.set_xticks([0, 1], [ref_name, name], fontsize=7)
        ax.set_ylabel(label)
        ax.set_xlim(-0.3, 1.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
