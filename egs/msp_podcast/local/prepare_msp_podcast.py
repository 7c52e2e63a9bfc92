#!/usr/bin/env python3
"""Write a Kaldi-style data dir for MSP-Podcast from its release layout.

  Labels/labels_consensus.csv   FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
  Audios/<FileName>

utt2avd = EmoVal EmoAct EmoDom (1-7); utt2split = train / valid / test from Split_Set
(Train, Development, Test1; other sets such as Test2 are left out). Speakers marked Unknown
get one speaker id per utterance (they cannot be tied to anyone); an utterance with neither
speaker nor gender is left out (its gender cannot be written to spk2gender). The class set
(conf/labels_*.yaml) maps EmoClass codes; utterances with other codes are dropped or kept with
no categorical label (--other keep).
"""
import argparse
import csv
from pathlib import Path

import yaml

from sertk.data.datadir import NO_LABEL, write_datadir

SPLITS = {"Train": "train", "Development": "valid", "Test1": "test"}
GENDER = {"male": "m", "female": "f"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="MSP-Podcast root (contains Labels/ and Audios/)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--labels", required=True, help="YAML: EmoClass code -> class (order = class order)")
    ap.add_argument("--other", choices=("drop", "keep"), default="drop")
    args = ap.parse_args()
    root = Path(args.corpus)
    table = root / "Labels" / "labels_consensus.csv"
    if not table.exists():
        raise SystemExit(f"{table} not found: is {root} the MSP-Podcast root?")
    label_map = yaml.safe_load(Path(args.labels).read_text())
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2avd", "utt2split")}
    genders, skipped = {}, {"other label": 0, "other split": 0, "no speaker or gender": 0}
    with open(table, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            split = SPLITS.get(r["Split_Set"].strip())
            if split is None:
                skipped["other split"] += 1
                continue
            label = label_map.get(r["EmoClass"].strip())
            if label is None:
                if args.other == "drop":
                    skipped["other label"] += 1
                    continue
                label = NO_LABEL
            utt = Path(r["FileName"].strip()).stem
            wav = root / "Audios" / r["FileName"].strip()
            if not wav.exists():
                raise SystemExit(f"utterance {utt}: {wav} missing ({table} lists it)")
            spk, gender = r["SpkrID"].strip(), GENDER.get(r["Gender"].strip().lower())
            if spk.lower() == "unknown":
                if gender is None:
                    skipped["no speaker or gender"] += 1
                    continue
                spk = f"unk_{utt}"
            else:
                spk = f"spk{spk}"
                if gender is None:
                    raise SystemExit(f"utterance {utt}: speaker {spk} has gender {r['Gender']!r}")
            genders[spk] = gender
            vad = [float(r[k]) for k in ("EmoVal", "EmoAct", "EmoDom")]
            rows["wav.scp"].append((utt, str(wav.resolve())))
            rows["utt2spk"].append((utt, spk))
            rows["utt2emo"].append((utt, label))
            rows["utt2avd"].append((utt, " ".join(f"{x:.4f}" for x in vad)))
            rows["utt2split"].append((utt, split))
    out = Path(args.out)
    write_datadir(out, rows, genders, dict.fromkeys(label_map.values()))
    print(f"{out}: {len(rows['wav.scp'])} utterances; left out: {skipped}")


if __name__ == "__main__":
    main()
