#!/usr/bin/env python3
"""Regenerate the tables of a recipe's RESULTS.md from its RESULTS.json files: every table shown
under a "`sertk summarize ...`" command line is replaced by that command's output, run in the
recipe dir (the exp/ dirs are local, so this runs where the experiments are). A table whose
command fails is left as it is and named.

  tools/venv/bin/python tools/refresh_results_tables.py egs/emodb/RESULTS.md [--check]

--check: change nothing; exit 1 if a table differs from what its command prints now.
"""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

COMMAND = re.compile(r"`(sertk summarize [^`]+)`")


def refresh(text: str, recipe: Path):
    """(new text, [commands whose table changed], [commands that failed])"""
    lines = text.split("\n")
    out, changed, failed, i = [], [], [], 0
    while i < len(lines):
        out.append(lines[i])
        m = COMMAND.search(lines[i])
        j = i + 1
        while m and j < len(lines) and not lines[j].strip():
            j += 1  # blank lines between the command and its table
        if m and j < len(lines) and lines[j].startswith("|"):
            k = j
            while k < len(lines) and lines[k].startswith("|"):
                k += 1
            cmd = m.group(1)
            # bash: brace lists (exp/{a,b}/RESULTS.json) are written as a user would type them
            p = subprocess.run(cmd, shell=True, executable="/bin/bash", cwd=recipe, capture_output=True,
                               text=True, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
            table = p.stdout.strip().split("\n") if p.returncode == 0 else lines[j:k]
            if p.returncode != 0:
                failed.append(f"{cmd}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
            elif table != lines[j:k]:
                changed.append(cmd)
            out += lines[i + 1: j] + table
            i = k
            continue
        i += 1
    return "\n".join(out), changed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_md", type=Path)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    text = a.results_md.read_text()
    new, changed, failed = refresh(text, a.results_md.parent)
    for f in failed:
        print(f"not refreshed: {f}", file=sys.stderr)
    for c in changed:
        print(f"{'differs' if a.check else 'refreshed'}: {c}")
    if a.check:
        sys.exit(1 if changed else 0)
    if new != text:
        a.results_md.write_text(new)


if __name__ == "__main__":
    main()
