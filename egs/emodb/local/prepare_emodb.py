#!/usr/bin/env python3
"""Write a Kaldi-style data dir for EmoDB from its official layout (wav/SSTTTEV.wav).

SS speaker, TTT sentence code, E emotion letter, V version. Genders and transcripts follow
the corpus documentation.
"""
import argparse
from pathlib import Path

import yaml

from sertk.data.datadir import write_datadir

MALE = {"03", "10", "11", "12", "15"}
FEMALE = {"08", "09", "13", "14", "16"}
SENTENCES = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="EmoDB root (contains wav/)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--emotions", required=True, help="conf/emotions.yaml (letter -> label)")
    args = ap.parse_args()
    emap = yaml.safe_load(Path(args.emotions).read_text())
    wavs = sorted((Path(args.corpus) / "wav").glob("*.wav"))
    if not wavs:
        raise SystemExit(f"no wav files in {args.corpus}/wav: is this the EmoDB root?")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "text", "utt2style")}
    for w in wavs:
        utt = w.stem
        spk, sent, letter = utt[:2], utt[2:5], utt[5]
        if spk not in MALE | FEMALE or sent not in SENTENCES:
            raise SystemExit(f"{w}: name does not follow EmoDB's SSTTTEV.wav convention")
        if letter not in emap:
            raise SystemExit(f"{w}: utterance {utt}: emotion letter {letter!r} not in {args.emotions}")
        rows["wav.scp"].append((utt, str(w.resolve())))
        rows["utt2spk"].append((utt, spk))
        rows["utt2emo"].append((utt, emap[letter]))
        rows["text"].append((utt, SENTENCES[sent]))
        rows["utt2style"].append((utt, "acted"))
    out = Path(args.out)
    spks = {s for _, s in rows["utt2spk"]}
    write_datadir(out, rows, {s: "m" if s in MALE else "f" for s in spks}, emap.values())
    print(f"{out}: {len(wavs)} utterances, {len(spks)} speakers")


if __name__ == "__main__":
    main()
