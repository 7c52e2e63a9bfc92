#!/usr/bin/env python3
"""The README's head-vs-probe table: pooled scores of the linear probe (layers searched, all
layers) and the default head on every real corpus, read from the recipes' RESULTS.json
(exp/<tag>/RESULTS.json, else rebuilt from the per-fold records committed in
results/scores/<tag>, so a fresh clone regenerates the table).

  tools/venv/bin/python tools/heads_overview.py [--feat whisper_base] [egs/emodb egs/urdu ...]
"""
import argparse
import json
import tempfile
from pathlib import Path

SYSTEMS = (("train_linear", "probe, layers searched"), ("train_linear_all_layers", "probe, all layers"),
           ("train_pooled_mlp", "default head"),
           ("train_pooled_mlp_{feat}_earlier", "default head, earlier design"))
RECIPES = ("egs/emodb", "egs/emodb_hard", "egs/urdu", "egs/emodb_urdu", "egs/tava")


def cell(res, key):
    if res is None or key not in res["pooled"]:
        return "-"
    v = res["pooled"][key]
    return f"{100 * v:.1f}" if key in ("ua", "wa") else f"{v:.3f}"


def results(recipe: Path, tag: str, scratch: Path):
    """RESULTS of an experiment: its exp dir's, else rebuilt from its kept records; None if neither."""
    from sertk.score.kept import rebuild

    f = recipe / "exp" / tag / "RESULTS.json"
    if not f.exists() and (recipe / "results" / "scores" / tag).is_dir():
        f = rebuild(recipe / "results" / "scores", tag, scratch / recipe.name, plots=False)
    return json.loads(f.read_text()) if f.exists() else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recipes", nargs="*", default=list(RECIPES))
    ap.add_argument("--feat", default="whisper_base")
    a = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    lines = ["| corpus | folds | metric (pooled) | " + " | ".join(n for _, n in SYSTEMS) + " |",
             "|---" * (3 + len(SYSTEMS)) + "|"]
    for r in a.recipes:
        runs = []
        with tempfile.TemporaryDirectory() as scratch:
            for prefix, _ in SYSTEMS:
                name = prefix.format(feat=a.feat) if "{feat}" in prefix else f"{prefix}_{a.feat}"
                runs.append(results(root / r, name, Path(scratch)))
        folds = next((len(x["folds"]) for x in runs if x), 0)
        for key, name in (("ua", "UA %"), ("ccc", "mean CCC")):
            if any(x is not None and key in x["pooled"] for x in runs):
                lines.append(f"| {Path(r).name} | {folds} | {name} | " + " | ".join(cell(x, key) for x in runs) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
