"""Per-fold scoring files and the fold aggregate written to RESULTS.md."""
import json
import subprocess
from pathlib import Path
from typing import Dict, List

import numpy as np

from sertk.fileio import atomic_path, read_table, write_json, write_text
from sertk.score.metrics import classification_metrics

HEADLINE = ("wa", "ua", "macro_f1", "weighted_f1")


def confusion_text(m: Dict) -> str:
    labels, cm = m["labels"], m["confusion"]
    w = max(7, max(len(l) for l in labels) + 1)
    lines = ["ref \\ hyp".ljust(w) + "".join(l[:w - 1].rjust(w) for l in labels)]
    for l, row in zip(labels, cm):
        lines.append(l.ljust(w) + "".join(str(v).rjust(w) for v in row))
    return "\n".join(lines) + "\n"


def plot_confusion(m: Dict, path, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.array(m["confusion"], dtype=float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(m["labels"]), 0.8 + 0.75 * len(m["labels"])))
    ConfusionMatrixDisplay(norm, display_labels=m["labels"]).plot(
        ax=ax, cmap="Blues", values_format=".2f", colorbar=False)
    ax.set_title(title or f"WA {100 * m['wa']:.1f}  UA {100 * m['ua']:.1f}  (row-normalised)", fontsize=9)
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def score_dir(ref_file, hyp_file, labels: List[str], out_dir) -> Dict:
    """Score hypotheses (utt -> label) against references; write metrics + confusion."""
    ref, hyp = read_table(ref_file), read_table(hyp_file)
    missing = [u for u in ref if u not in hyp]
    if missing:
        raise ValueError(f"{hyp_file}: no hypothesis for {len(missing)} utterance(s), e.g. {missing[0]}")
    utts = sorted(ref)
    m = classification_metrics([ref[u] for u in utts], [hyp[u] for u in utts], labels)
    utt2spk = Path(ref_file).with_name("utt2spk")  # a data dir's reference: name its speakers
    if utt2spk.exists():
        spk = read_table(utt2spk)
        m["speakers"] = sorted({spk[u] for u in utts if u in spk})
    out = Path(out_dir)
    write_json(out / "metrics.json", m)
    write_text(out / "confusion.txt", confusion_text(m))
    plot_confusion(m, out / "confusion.png")
    return m


def git_hash() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def aggregate(fold_dirs: List, out_file, title: str, command: str = "", config: str = "",
              labels: List[str] = None, pooled_refs=None) -> Dict:
    """mean ± std (sample std, ddof=1) over folds + per-fold rows + pooled confusion."""
    folds = [json.loads((Path(d) / "metrics.json").read_text()) for d in fold_dirs]
    table = {k: np.array([f[k] for f in folds]) for k in HEADLINE}
    summary = {k: {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
               for k, v in table.items()}
    cm = np.sum([np.array(f["confusion"]) for f in folds], axis=0)
    labels = labels or folds[0]["labels"]
    pooled_wa = float(np.trace(cm) / cm.sum())
    rec = [cm[i, i] / cm[i].sum() for i in range(len(labels)) if cm[i].sum() > 0]
    pooled = {"wa": pooled_wa, "ua": float(np.mean(rec)), "labels": labels, "confusion": cm.tolist()}
    out_file = Path(out_file)
    plot_confusion(pooled, out_file.with_name(out_file.stem + "_confusion.png"),
                   f"{title}: all folds pooled (row-normalised)")

    pct = lambda x: f"{100 * x:.1f}"
    lines = [f"## {title}", "",
             f"{len(folds)} folds; mean ± std (sample std over folds), in %.", "",
             "| | WA | UA | macro-F1 | weighted-F1 |", "|---|---|---|---|---|",
             "| **mean ± std** | " + " | ".join(f"**{pct(summary[k]['mean'])} ± {pct(summary[k]['std'])}**"
                                             for k in HEADLINE) + " |"]
    for d, f in zip(fold_dirs, folds):
        spk = f.get("speakers", [])
        who = f"spk {' '.join(spk)}; " if 0 < len(spk) <= 3 else (f"{len(spk)} spk; " if spk else "")
        lines.append(f"| {Path(d).parent.name} ({who}{f['num_utts']} utts) | "
                     + " | ".join(pct(f[k]) for k in HEADLINE) + " |")
    lines += ["", f"Pooled over all test utterances: WA {pct(pooled['wa'])}, UA {pct(pooled['ua'])}. "
              f"Confusion matrix: `{out_file.stem}_confusion.png`.", "",
              f"- command: `{command}`" if command else "", f"- config: `{config}`" if config else "",
              f"- git: `{git_hash()}`", ""]
    text = "\n".join(l for l in lines if l is not None) + "\n"
    write_text(out_file, text)
    result = {"summary": summary, "pooled": pooled, "folds": folds}
    write_json(out_file.with_suffix(".json"), result)
    return result
