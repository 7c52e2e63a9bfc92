#!/usr/bin/env python3
"""Merge the IEMOCAP and MSP-Podcast data dirs for cross-corpus training with mismatched
label kinds (Sharma et al., Table 2).

--kinds says which label kinds each corpus contributes: `d` (categorical), `c` (V/A/D) or
`dc`; a kind a corpus does not contribute is written as "no label" (`-`), so the losses mask
it. MSP-Podcast's 1-7 V/A/D are mapped linearly onto IEMOCAP's 1-5 scale and its classes
onto IEMOCAP's 4 (neu, ang, hap, sad; disgust has no IEMOCAP counterpart and is dropped from
the categorical labels). utt2split: IEMOCAP session `--test_session` is test, the speakers
of `--valid_session` are valid, the rest train; MSP-Podcast keeps Train / Development / Test1.
utt2corpus lets stage 6 score each corpus on its own.
"""
import argparse
from pathlib import Path

from sertk.data.datadir import NO_LABEL, DataDir, write_datadir
from sertk.fileio import read_list, read_table

MSP_TO_IEMOCAP = {"neu": "neu", "ang": "ang", "hap": "hap", "sad": "sad"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("iemocap", help="IEMOCAP data dir (local/prepare_iemocap.py)")
    ap.add_argument("msp", help="MSP-Podcast data dir (local/prepare_msp_podcast.py)")
    ap.add_argument("out")
    ap.add_argument("--kinds", default="iemocap=d,msp=c", help="e.g. iemocap=d,msp=c or iemocap=dc,msp=dc")
    ap.add_argument("--test_session", default="Ses05")
    ap.add_argument("--valid_session", default="Ses04")
    args = ap.parse_args()
    kinds = dict(kv.split("=") for kv in args.kinds.split(","))
    if set(kinds) != {"iemocap", "msp"} or not all(set(v) <= {"d", "c"} and v for v in kinds.values()):
        raise SystemExit(f"--kinds {args.kinds!r}: give iemocap=<d|c|dc>,msp=<d|c|dc>")
    iem, msp = DataDir(args.iemocap), DataDir(args.msp)
    emotions = read_list(Path(args.iemocap).parent / "emotions.txt")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2avd", "utt2split", "utt2corpus")}
    genders = {}
    for corpus, d in (("iemocap", iem), ("msp", msp)):
        split = read_table(Path(args.msp) / "utt2split") if corpus == "msp" else None
        for u in d.utts:
            emo = d.tables["utt2emo"][u]
            if corpus == "msp":
                emo = MSP_TO_IEMOCAP.get(emo, NO_LABEL)
                vad = [1 + (x - 1) * 4 / 6 for x in d.utt2avd(u)]
                s = split[u]
            else:
                vad = d.utt2avd(u)
                ses = d.tables["utt2session"][u]
                s = "test" if ses == args.test_session else "valid" if ses == args.valid_session else "train"
            if "d" not in kinds[corpus] or emo not in emotions:
                emo = NO_LABEL
            avd = " ".join(f"{x:.4f}" for x in vad) if "c" in kinds[corpus] else "- - -"
            if emo == NO_LABEL and avd == "- - -":
                continue  # nothing to learn from or score
            spk = d.utt2spk[u]
            rows["wav.scp"].append((u, d.tables["wav.scp"][u]))
            rows["utt2spk"].append((u, spk))
            rows["utt2emo"].append((u, emo))
            rows["utt2avd"].append((u, avd))
            rows["utt2split"].append((u, s))
            rows["utt2corpus"].append((u, corpus))
            genders[spk] = d.tables["spk2gender"][spk]
    out = Path(args.out)
    write_datadir(out, rows, genders, emotions)
    print(f"{out}: {len(rows['wav.scp'])} utterances ({args.kinds})")


if __name__ == "__main__":
    main()
