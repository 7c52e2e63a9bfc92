#!/usr/bin/env python3
"""Score every experiment's test predictions separately for each corpus (utt2corpus):
exp/<tag>/RESULTS_<corpus>.md (+ .json), using the labels each corpus carries."""
import argparse
from pathlib import Path

from sertk.fileio import read_list, read_table, write_table
from sertk.score.report import aggregate, score_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datadir", default="data")
    ap.add_argument("--expdir", default="exp")
    args = ap.parse_args()
    test = Path(args.datadir) / "folds" / "fold1" / "test"
    corpus = read_table(test / "utt2corpus")
    emotions = read_list(Path(args.datadir) / "emotions.txt")
    for dec in sorted(Path(args.expdir).glob("*/fold1/decode_test")):
        exp = dec.parent.parent
        for c in sorted(set(corpus.values())):
            out = dec.parent / f"score_test_{c}"
            refs = {}
            for name in ("utt2emo", "utt2avd", "utt2spk"):
                rows = [(u, v) for u, v in read_table(test / name).items() if corpus[u] == c]
                write_table(out / "ref" / name, rows)
                refs[name] = out / "ref" / name
            has = lambda f: (dec / f).exists()
            score_dir(refs["utt2emo"] if has("utt2emo_hyp") else None, dec / "utt2emo_hyp", emotions, out,
                      refs["utt2avd"] if has("utt2avd_hyp") else None, dec / "utt2avd_hyp")
            aggregate([out], exp / f"RESULTS_{c}.md", f"{exp.name}: test on {c}")
            print(f"{exp}/RESULTS_{c}.md")


if __name__ == "__main__":
    main()
