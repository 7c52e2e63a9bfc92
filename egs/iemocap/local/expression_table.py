#!/usr/bin/env python3
"""Markdown table of local/expression_table.sh: one row per training condition, WA/UA on the
acted and on the spontaneous test utterances (the layout of the paper's Table II)."""
import argparse
import json
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("exp", help="exp/expression_<train>_<feat>")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    exp = Path(args.exp)
    lines = [f"## Train on acted / spontaneous / combined (Sessions 1-4), test on Session 5 by style: {exp.name}", "",
             "| train on | test acted WA | test acted UA | test spontaneous WA | test spontaneous UA |",
             "|---|---|---|---|---|"]
    for cond in ("acted", "spontaneous", "combined"):
        cells = []
        for style in ("acted", "spontaneous"):
            m = json.loads((exp / cond / f"score_{style}" / "metrics.json").read_text())
            cells += [f"{100 * m['wa']:.1f}", f"{100 * m['ua']:.1f}"]
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    test = {s: json.loads((exp / "acted" / f"score_{s}" / "metrics.json").read_text())["num_utts"]
            for s in ("acted", "spontaneous")}
    lines += ["", f"Test utterances: {test['acted']} acted, {test['spontaneous']} spontaneous. WA/UA in %."]
    if args.command:
        lines.append(f"- command: `{args.command}`")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
