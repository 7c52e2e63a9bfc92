#!/usr/bin/env python3
"""Write a Kaldi-style data dir from one CSV/TSV describing a corpus: a row per utterance
with path, speaker, emotion, gender and optionally utt, text, language, session."""
import argparse
import csv
from collections import Counter
from pathlib import Path

from sertk.data.datadir import write_datadir

REQUIRED = ("path", "speaker", "emotion", "gender")
GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}


def read_rows(path: Path):
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise SystemExit(f"{path}: missing column(s) {missing}; header is {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            yield line, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--emotions", default="", help="space-separated label set in class order (default: all, sorted)")
    ap.add_argument("--emotions-file", required=True, help="where to write emotions.txt")
    args = ap.parse_args()
    src = Path(args.csv).resolve()
    wanted = args.emotions.split()
    tables = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "text", "utt2lang", "utt2session")}
    genders, dropped, seen = {}, Counter(), set()
    for line, row in read_rows(src):
        where = f"{src}:{line}"
        spk, emo = row["speaker"], row["emotion"].lower()
        if not spk or not emo or not row["path"]:
            raise SystemExit(f"{where}: empty path, speaker or emotion")
        if wanted and emo not in wanted:
            dropped[emo] += 1
            continue
        wav = Path(row["path"])
        wav = wav if wav.is_absolute() else src.parent / wav
        if not wav.exists():
            raise SystemExit(f"{where}: audio file {wav} not found")
        gender = GENDERS.get(row["gender"].lower())
        if gender is None:
            raise SystemExit(f"{where}: gender {row['gender']!r} is not m/f/male/female")
        if genders.setdefault(spk, gender) != gender:
            raise SystemExit(f"{where}: speaker {spk} has two genders")
        # speaker-prefixed ids keep a speaker's utterances together in sorted Kaldi files
        utt = row.get("utt") or f"{spk}_{wav.stem}"
        if utt in seen:
            raise SystemExit(f"{where}: utterance id {utt} repeated (add an `utt` column)")
        seen.add(utt)
        tables["wav.scp"].append((utt, str(wav)))
        tables["utt2spk"].append((utt, spk))
        tables["utt2emo"].append((utt, emo))
        for col, table in (("text", "text"), ("language", "utt2lang"), ("session", "utt2session")):
            if row.get(col):
                tables[table].append((utt, row[col]))
    if not seen:
        raise SystemExit(f"{src}: no utterance kept (label set: {wanted or 'all'})")
    # optional tables are written only when every kept row has the column
    tables = {k: v for k, v in tables.items() if len(v) == len(seen)}
    emotions = wanted or sorted({e for _, e in tables["utt2emo"]})
    write_datadir(args.out, tables, genders, emotions, emotions_file=args.emotions_file)
    print(f"{args.out}: {len(seen)} utterances, {len(genders)} speakers, emotions {' '.join(emotions)}"
          + (f"; dropped {dict(dropped)}" if dropped else ""))


if __name__ == "__main__":
    main()
