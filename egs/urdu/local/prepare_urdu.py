#!/usr/bin/env python3
"""Write a Kaldi-style data dir for URDU (Latif et al. 2018) from its release layout:
<Emotion>/SGX_FNN_EYYY.wav, S + gender letter M/F + speaker number (the speaker id is SGX),
FNN the file number, E the emotion letter, YYY its number within the emotion.

Every utterance is spontaneous talk-show speech (`utt2style` = spontaneous), so the corpus
pairs with the acted ones (EmoDB) for the expression task."""
import argparse
import re
from pathlib import Path

import yaml

from sertk.data.datadir import write_datadir

NAME = re.compile(r"^S(?P<gender>[MF])(?P<num>\d+)_F\d+_(?P<emo>[A-Z])\d+$")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="URDU root (holds Angry/ Happy/ Neutral/ Sad/)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--emotions", required=True, help="conf/emotions.yaml (letter -> label)")
    args = ap.parse_args()
    emap = yaml.safe_load(Path(args.emotions).read_text())
    wavs = sorted(Path(args.corpus).glob("*/*.wav"))
    if not wavs:
        raise SystemExit(f"no */*.wav files in {args.corpus}: is this the URDU root?")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2style", "utt2lang")}
    genders = {}
    for w in wavs:
        m = NAME.match(w.stem)
        if not m:
            raise SystemExit(f"{w}: name does not follow URDU's SGX_FNN_EYYY.wav convention")
        if m["emo"] not in emap:
            raise SystemExit(f"{w}: emotion letter {m['emo']!r} not in {args.emotions}")
        spk = f"S{m['gender']}{m['num']}"
        utt = f"{spk}_{w.stem}"  # speaker-prefixed keys keep Kaldi's sort orders consistent
        genders[spk] = m["gender"].lower()
        rows["wav.scp"].append((utt, str(w.resolve())))
        rows["utt2spk"].append((utt, spk))
        rows["utt2emo"].append((utt, emap[m["emo"]]))
        rows["utt2style"].append((utt, "spontaneous"))
        rows["utt2lang"].append((utt, "ur"))
    for name in rows:
        rows[name].sort()
    write_datadir(Path(args.out), rows, genders, emap.values())
    print(f"{args.out}: {len(wavs)} utterances, {len(genders)} speakers")


if __name__ == "__main__":
    main()
