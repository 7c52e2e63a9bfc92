#!/usr/bin/env python3
"""Write a Kaldi-style data dir for RAVDESS speech (audio-only release
Audio_Speech_Actors_01-24/Actor_NN/MM-VV-EE-II-SS-RR-AA.wav).

Fields: modality (03 audio-only), vocal channel (01 speech, 02 song), emotion (01 neutral,
02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised), intensity (01
normal, 02 strong), statement (01/02), repetition, actor (odd = male, even = female).
"""
import argparse
from pathlib import Path

from sertk.data.datadir import write_datadir

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful",
            "07": "disgust", "08": "surprised"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="directory holding the Actor_NN folders")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    args = ap.parse_args()
    wavs = sorted(Path(args.corpus).glob("Actor_*/*.wav"))
    if not wavs:
        raise SystemExit(f"no Actor_*/*.wav under {args.corpus}: is this the RAVDESS speech release?")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "text", "utt2style")}
    genders = {}
    for w in wavs:
        fields = w.stem.split("-")
        if len(fields) != 7 or fields[2] not in EMOTIONS or fields[4] not in STATEMENTS:
            raise SystemExit(f"{w}: name does not follow RAVDESS's MM-VV-EE-II-SS-RR-AA.wav convention")
        modality, channel, emo, _, statement, _, actor = fields
        if modality != "03" or channel != "01":
            continue  # video tracks and song: not the speech emotion task
        spk = f"actor{actor}"
        genders[spk] = "m" if int(actor) % 2 else "f"
        utt = f"{spk}_{w.stem}"
        rows["wav.scp"].append((utt, str(w.resolve())))
        rows["utt2spk"].append((utt, spk))
        rows["utt2emo"].append((utt, EMOTIONS[emo]))
        rows["text"].append((utt, STATEMENTS[statement]))
        rows["utt2style"].append((utt, "acted"))
    write_datadir(args.out, rows, genders, EMOTIONS.values())
    print(f"{args.out}: {len(rows['utt2spk'])} utterances, {len(genders)} actors")


if __name__ == "__main__":
    main()
