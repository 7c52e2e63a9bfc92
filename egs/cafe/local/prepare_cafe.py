#!/usr/bin/env python3
"""Write a Kaldi-style data dir for CaFE (Canadian French Emotional speech): files
<root>/<Émotion>/<Faible|Fort>/<actor>-<E>-<intensity>-<sentence>.wav and
<root>/Neutre/<actor>-N-<sentence>.wav; 12 actors, 6 sentences, 7 emotions."""
import argparse
from pathlib import Path

import yaml

from sertk.data.datadir import write_datadir

EMOTIONS = {"C": "angry", "D": "disgust", "J": "happy", "N": "neutral", "P": "fear", "S": "surprise",
            "T": "sad"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="CaFE root (holds Colère/, Neutre/, ...)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--genders", required=True, help="conf/genders.yaml (actor -> m/f)")
    args = ap.parse_args()
    genders = {str(k): v for k, v in yaml.safe_load(Path(args.genders).read_text()).items()}
    wavs = sorted(Path(args.corpus).rglob("*.wav"))
    if not wavs:
        raise SystemExit(f"no wav files under {args.corpus}: is this the CaFE root?")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2style", "utt2lang")}
    used = {}
    for w in wavs:
        parts = w.stem.split("-")
        if len(parts) not in (3, 4) or parts[1] not in EMOTIONS or (len(parts) == 3) != (parts[1] == "N"):
            raise SystemExit(f"{w}: name does not follow CaFE's <actor>-<E>[-<intensity>]-<sentence>.wav")
        actor = parts[0]
        if actor not in genders:
            raise SystemExit(f"{w}: actor {actor} is not in {args.genders}")
        spk = f"actor{actor}"
        used[spk] = genders[actor]
        utt = f"{spk}_{w.stem}"
        rows["wav.scp"].append((utt, str(w.resolve())))
        rows["utt2spk"].append((utt, spk))
        rows["utt2emo"].append((utt, EMOTIONS[parts[1]]))
        rows["utt2style"].append((utt, "acted"))
        rows["utt2lang"].append((utt, "fr-CA"))
    write_datadir(args.out, rows, used, sorted(EMOTIONS.values()))
    print(f"{args.out}: {len(rows['utt2spk'])} utterances, {len(used)} actors")


if __name__ == "__main__":
    main()
