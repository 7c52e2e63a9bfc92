"""Per-fold scoring files and the fold aggregate written to RESULTS.md."""
import json
import re
import subprocess
from pathlib import Path
from typing import Dict, List

import numpy as np

from sertk.fileio import atomic_path, read_table, write_json, write_text
from sertk.data.datadir import ATTRIBUTES, NO_LABEL, DataDir
from sertk.score.decode_dir import hyp_name, read_avd
from sertk.score.kept import kept_commits
from sertk.score.metrics import METRICS, avd_metrics, ccc, classification_metrics

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


def plot_avd_scatter(ref, hyp, path, title: str = "") -> None:
    """Predicted vs true value per dimension, identity line dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref, hyp = np.asarray(ref, dtype=float), np.asarray(hyp, dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for k, (ax, name) in enumerate(zip(axes, ("valence", "arousal", "dominance"))):
        keep = np.isfinite(ref[:, k])
        if keep.sum() < 2:
            ax.set_axis_off()
            continue
        r, h = ref[keep, k], hyp[keep, k]
        ax.scatter(r, h, s=8, alpha=0.6)
        lo, hi = min(r.min(), h.min()), max(r.max(), h.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_title(f"{name}: CCC {ccc(h, r):.3f}", fontsize=9)
        ax.set_xlabel("true"), ax.set_ylabel("predicted")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def attribute_accuracy(ref_dir, hyp_dir) -> Dict[str, float]:
    """`<name>_acc` for each auxiliary attribute (gender, style) that hyp_dir has a
    utt2<name>_hyp for and the data dir ref_dir has references for."""
    accs = {}
    for name in ATTRIBUTES:
        hyp_file = Path(hyp_dir) / hyp_name(name)
        ref = DataDir(ref_dir).attribute(name) if hyp_file.exists() else None
        if ref is None:
            continue
        hyp = read_table(hyp_file)
        utts = [u for u in ref if ref[u] != NO_LABEL]
        missing = [u for u in utts if u not in hyp]
        if missing:
            raise ValueError(f"{hyp_file}: no hypothesis for {len(missing)} utterance(s), e.g. {missing[0]}")
        if utts:
            accs[f"{name}_acc"] = float(np.mean([ref[u] == hyp[u] for u in utts]))
    return accs


def score_dir(ref_file, hyp_file, labels: List[str], out_dir, avd_ref_file=None, avd_hyp_file=None,
              attr_ref_dir=None, attr_hyp_dir=None) -> Dict:
    """Score hypotheses against references and write metrics.json (+ confusion txt/png for
    categorical labels, scatter png for V/A/D, the accuracy of auxiliary heads given the test
    data dir and the decode dir). Utterances whose reference is `-` (no such label) are left
    out of that kind's metrics."""
    out = Path(out_dir)
    m: Dict = {}
    scored = set()
    if attr_ref_dir is not None and attr_hyp_dir is not None:
        m.update(attribute_accuracy(attr_ref_dir, attr_hyp_dir))
    if ref_file is not None:
        ref, hyp = read_table(ref_file), read_table(hyp_file)
        utts = sorted(u for u in ref if ref[u] != NO_LABEL)
        missing = [u for u in utts if u not in hyp]
        if missing:
            raise ValueError(f"{hyp_file}: no hypothesis for {len(missing)} utterance(s), e.g. {missing[0]}")
        if utts:
            m.update(classification_metrics([ref[u] for u in utts], [hyp[u] for u in utts], labels))
            write_text(out / "confusion.txt", confusion_text(m))
            plot_confusion(m, out / "confusion.png")
            scored.update(utts)
    if avd_ref_file is not None:
        ref, hyp = read_avd(avd_ref_file), read_avd(avd_hyp_file)
        utts = sorted(u for u in ref if np.isfinite(ref[u]).any())
        missing = [u for u in utts if u not in hyp]
        if missing:
            raise ValueError(f"{avd_hyp_file}: no hypothesis for {len(missing)} utterance(s), e.g. {missing[0]}")
        if utts:
            r, h = np.array([ref[u] for u in utts]), np.array([hyp[u] for u in utts])
            m.update(avd_metrics(r, h))
            m["avd_ref"], m["avd_hyp"] = r.tolist(), h.tolist()
            plot_avd_scatter(r, h, out / "avd_scatter.png")
            scored.update(utts)
    if not scored:
        raise ValueError(f"nothing to score: no labelled utterance in {ref_file or avd_ref_file}")
    m["num_utts"] = len(scored)
    ref_dir = Path(ref_file or avd_ref_file).parent
    if (ref_dir / "utt2spk").exists():  # a data dir's reference: name its speakers
        spk = read_table(ref_dir / "utt2spk")
        m["speakers"] = sorted({spk[u] for u in scored if u in spk})
    write_json(out / "metrics.json", m)
    return m


def git_hash() -> str:
    """This checkout's commit, `-dirty` when it has uncommitted changes."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


CATEGORICAL = tuple(k for k, m in METRICS.items() if m.classes)
CONTINUOUS = tuple(k for k, m in METRICS.items() if not m.classes and k != "loss")
NAMES = {k: m.name for k, m in METRICS.items()}


def _fmt(key, x) -> str:
    return f"{100 * x:.1f}" if METRICS[key].percent else f"{x:.3f}"


def aggregate(fold_dirs: List, out_file, title: str, command: str = "", config: str = "",
              inner_command: str = "", resolved_configs=(), git: str = None, plots: bool = True) -> Dict:
    """mean ± std (sample std, ddof=1) over folds + per-fold rows + pooled scores (confusion
    matrix, pooled CCC, scatter plot; plots=False: no PNG, for a RESULTS.json only read by
    code). Metrics are those every fold has. Rows are in natural order (fold2 before fold10),
    however the dirs were given (a shell glob sorts lexically)."""
    fold_dirs = sorted(fold_dirs, key=lambda d: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(d))])
    folds = [json.loads((Path(d) / "metrics.json").read_text()) for d in fold_dirs]
    keys = [k for k in CATEGORICAL + CONTINUOUS if all(k in f for f in folds)]
    if not keys:
        raise ValueError(f"no metric common to all of {fold_dirs}")
    table = {k: np.array([f[k] for f in folds]) for k in keys}
    summary = {k: {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
               for k, v in table.items()}
    out_file = Path(out_file)
    pooled, notes = {}, []
    if "ua" in keys:
        cm = np.sum([np.array(f["confusion"]) for f in folds], axis=0)
        labels = folds[0]["labels"]
        recall = {l: float(cm[i, i] / cm[i].sum()) for i, l in enumerate(labels) if cm[i].sum() > 0}
        pooled.update({"wa": float(np.trace(cm) / cm.sum()), "ua": float(np.mean(list(recall.values()))),
                       "labels": labels, "confusion": cm.tolist(), "recall": recall})
        if plots:
            plot_confusion(pooled, out_file.with_name(out_file.stem + "_confusion.png"),
                           f"{title}: all folds pooled (row-normalised)")
        notes.append(f"Pooled over all test utterances: WA {_fmt('wa', pooled['wa'])}, UA "
                     f"{_fmt('ua', pooled['ua'])}." + (f" Confusion matrix: `{out_file.stem}_confusion.png`." if plots else ""))
        notes += ["", *per_class_recall_table(folds, recall)]
    if "ccc" in keys:
        r = np.concatenate([np.array(f["avd_ref"]) for f in folds])
        h = np.concatenate([np.array(f["avd_hyp"]) for f in folds])
        pooled.update(avd_metrics(r, h))
        if plots:
            plot_avd_scatter(r, h, out_file.with_name(out_file.stem + "_avd_scatter.png"),
                             f"{title}: all folds pooled")
        notes.append("Pooled over all test utterances: " + ", ".join(
            f"{NAMES[k]} {pooled[k]:.3f}" for k in ("ccc_v", "ccc_a", "ccc_d", "ccc") if k in pooled)
            + "." + (f" Scatter plots: `{out_file.stem}_avd_scatter.png`." if plots else ""))

    one = len(folds) == 1  # a single fold has no spread: show no "± 0.0"
    lines = [f"## {title}", "",
             ("1 fold (no std over folds)" if one else f"{len(folds)} folds; mean ± std (sample std over folds)")
             + ("; WA/UA/F1 in %." if "ua" in keys else "."), "",
             "| | " + " | ".join(NAMES[k] for k in keys) + " |", "|---" * (len(keys) + 1) + "|",
             ("| **mean** | " if one else "| **mean ± std** | ")
             + " | ".join(f"**{_fmt(k, summary[k]['mean'])}" + ("" if one else f" ± {_fmt(k, summary[k]['std'])}")
                          + "**" for k in keys) + " |"]
    for d, f in zip(fold_dirs, folds):
        spk = f.get("speakers", [])
        who = f"spk {' '.join(spk)}; " if 0 < len(spk) <= 3 else (f"{len(spk)} spk; " if spk else "")
        lines.append(f"| {Path(d).parent.name} ({who}{f['num_utts']} utts) | "
                     + " | ".join(_fmt(k, f[k]) for k in keys) + " |")
    provenance = {"command": command, "inner_command": inner_command, "config": config,
                  "git": git or git_hash(),
                  "resolved_configs": {str(p): Path(p).read_text() for p in resolved_configs}}
    kept = kept_commits(fold_dirs)  # folds restored from kept scores were trained at these commits
    if kept:
        provenance["kept_folds"] = {Path(d).parent.name: g for d, g in kept.items()}
    lines += [""] + notes + [""] + provenance_lines(provenance)
    write_text(out_file, "\n".join(lines) + "\n")
    result = {"summary": summary, "pooled": pooled, "provenance": provenance,
              "folds": [{k: v for k, v in f.items() if k not in ("avd_ref", "avd_hyp")} for f in folds]}
    write_json(out_file.with_suffix(".json"), result)
    return result


def provenance_lines(p: Dict) -> List[str]:
    """How the numbers above were made: commands, git state, the resolved configs (folded)."""
    lines = [f"- command: `{p['command']}`" if p["command"] else "",
             f"- staged script: `{p['inner_command']}`" if p["inner_command"] else "",
             f"- config: `{p['config']}`" if p["config"] else "", f"- git: `{p['git']}`"]
    if p.get("kept_folds"):
        lines.append("- restored from kept scores (trained at): " + ", ".join(
            f"{fold} (`{g}`)" for fold, g in p["kept_folds"].items()))
    for path, text in p["resolved_configs"].items():
        lines += ["", f"<details><summary>resolved config <code>{path}</code></summary>", "",
                  "```yaml", text.rstrip(), "```", "</details>"]
    return [x for x in lines if x is not None] + [""]


def per_class_recall_table(folds: List[Dict], pooled_recall: Dict[str, float]) -> List[str]:
    """Markdown rows: each class's recall (true positive rate) as mean ± std over the folds
    whose test split has the class, and pooled."""
    lines = ["Per-class recall (true positive rate), %:", "", "| class | folds with it | mean ± std | pooled |",
             "|---|---|---|---|"]
    for label, pooled in pooled_recall.items():
        r = np.array([f["recall"][label] for f in folds if label in f.get("recall", {})])
        std = f" ± {100 * r.std(ddof=1):.1f}" if len(r) > 1 else ""
        lines.append(f"| {label} | {len(r)} | {100 * r.mean():.1f}{std} | {100 * pooled:.1f} |")
    return lines


def summarize(results_files: List, out_file=None, per_class: bool = False) -> str:
    """One row per system (RESULTS.json of `aggregate`): mean ± std of every metric any of
    them has, and the pooled scores; the table comparing variants in a RESULTS.md. An exp dir
    stands for its RESULTS.json (as for `sertk compare`)."""
    files = [Path(f) / "RESULTS.json" if Path(f).is_dir() else Path(f) for f in results_files]
    runs = [(f.parent.name, json.loads(f.read_text())) for f in files]
    keys = [k for k in ("ua", "wa", "macro_f1", "ccc_v", "ccc_a", "ccc_d", "ccc", "gender_acc", "style_acc")
            if any(k in r["summary"] for _, r in runs)]
    pooled = [k for k in ("wa", "ua", "ccc") if any(k in r["pooled"] for _, r in runs)]
    lines = ["| system | folds | " + " | ".join(NAMES[k] for k in keys) + " | "
             + " | ".join(f"pooled {NAMES[k]}" for k in pooled) + " |",
             "|---" * (2 + len(keys) + len(pooled)) + "|"]
    for name, r in runs:
        cells = [f"{_fmt(k, r['summary'][k]['mean'])} ± {_fmt(k, r['summary'][k]['std'])}"
                 if k in r["summary"] else "-" for k in keys]
        cells += [_fmt(k, r["pooled"][k]) if k in r["pooled"] else "-" for k in pooled]
        lines.append(f"| {name} | {len(r['folds'])} | " + " | ".join(cells) + " |")
    if per_class:  # classes x systems, pooled recall: the per-class true positive rate table
        labels = [l for l in runs[0][1]["pooled"].get("labels", []) if any(l in r["pooled"].get("recall", {}) for _, r in runs)]
        lines += ["", "Pooled per-class recall (true positive rate), %:", "",
                  "| class | " + " | ".join(n for n, _ in runs) + " |", "|---" * (1 + len(runs)) + "|"]
        for l in labels:
            lines.append(f"| {l} | " + " | ".join(f"{100 * r['pooled']['recall'][l]:.1f}" if l in r["pooled"].get("recall", {})
                                                  else "-" for _, r in runs) + " |")
    text = "\n".join(lines) + "\n"
    if out_file:
        write_text(out_file, text)
    return text
