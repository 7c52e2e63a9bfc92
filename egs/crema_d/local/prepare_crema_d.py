#!/usr/bin/env python3
"""Write a Kaldi-style data dir for CREMA-D (AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav,
genders from VideoDemographics.csv). 91 actors, 6 emotions, 12 sentences, levels LO/MD/HI/XX."""
import argparse
import csv
from pathlib import Path

from sertk.data.datadir import write_datadir

EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened", "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about", "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold", "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment", "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before", "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes"}
LEVELS = {"LO", "MD", "HI", "XX", "X"}


def read_genders(path: Path):
    with open(path, newline="") as f:
        return {row["ActorID"].strip(): {"Male": "m", "Female": "f"}[row["Sex"].strip()]
                for row in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="CREMA-D root (holds AudioWAV/ and VideoDemographics.csv)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    args = ap.parse_args()
    root = Path(args.corpus)
    demo = root / "VideoDemographics.csv"
    if not demo.exists():
        raise SystemExit(f"{demo} not found: is {root} the CREMA-D root?")
    genders = read_genders(demo)
    wavs = sorted((root / "AudioWAV").glob("*.wav"))
    if not wavs:
        raise SystemExit(f"no wav files in {root}/AudioWAV (git lfs pull?)")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "text", "utt2style")}
    used = {}
    for w in wavs:
        fields = w.stem.split("_")
        if len(fields) != 4 or fields[1] not in SENTENCES or fields[2] not in EMOTIONS or fields[3] not in LEVELS:
            raise SystemExit(f"{w}: name does not follow CREMA-D's <actor>_<sentence>_<EMO>_<level>.wav")
        actor = fields[0]
        if actor not in genders:
            raise SystemExit(f"{w}: actor {actor} is not in {demo}")
        spk = f"actor{actor}"
        used[spk] = genders[actor]
        utt = f"{spk}_{w.stem}"
        if w.stat().st_size == 0:  # an empty file is named and left out, never trained on
            print(f"skipping empty file {w}")
            continue
        rows["wav.scp"].append((utt, str(w.resolve())))
        rows["utt2spk"].append((utt, spk))
        rows["utt2emo"].append((utt, EMOTIONS[fields[2]]))
        rows["text"].append((utt, SENTENCES[fields[1]]))
        rows["utt2style"].append((utt, "acted"))
    write_datadir(args.out, rows, used, sorted(EMOTIONS.values()))
    print(f"{args.out}: {len(rows['utt2spk'])} utterances, {len(used)} actors")


if __name__ == "__main__":
    main()
