#!/usr/bin/env python3
"""Write a Kaldi-style data dir for TAVA from its release layout.

audio/recordings/sNN_<affect>_audio.wav and annotations/SummaryData.csv (rows with
Variant == speech): speaker sNN, gender from Sex, the affect word as the categorical label
(mapped by conf/labels_<set>.yaml), utt2avd = mean crowd valence arousal dominance (-1..1).
"""
import argparse
import csv
from pathlib import Path

import yaml

from sertk.data.datadir import write_datadir


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="TAVA root (contains audio/ and annotations/)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--labels", required=True, help="YAML: affect word -> label (order = class order)")
    args = ap.parse_args()
    root = Path(args.corpus)
    table = root / "annotations" / "SummaryData.csv"
    if not table.exists():
        raise SystemExit(f"{table} not found: is {root} the TAVA root?")
    label_map = yaml.safe_load(Path(args.labels).read_text())
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2avd")}
    genders = {}
    with open(table, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            if r["Variant"] != "speech":
                continue
            spk = f"s{int(r['Speaker Number']):02d}"
            affect = r["Affect Name"].strip()
            utt = f"{spk}_{affect}"
            wav = root / "audio" / "recordings" / f"{utt}_audio.wav"
            if not wav.exists():
                raise SystemExit(f"utterance {utt}: {wav} missing ({table} lists it)")
            if affect not in label_map:
                raise SystemExit(f"utterance {utt}: affect {affect!r} not in {args.labels}")
            sex = {"male": "m", "female": "f"}.get(r["Sex"].strip().lower())
            if sex is None:
                raise SystemExit(f"utterance {utt}: Sex {r['Sex']!r} is neither male nor female")
            genders[spk] = sex
            rows["wav.scp"].append((utt, str(wav.resolve())))
            rows["utt2spk"].append((utt, spk))
            rows["utt2emo"].append((utt, label_map[affect]))
            rows["utt2avd"].append((utt, " ".join(f"{float(r[k]):.4f}" for k in
                                                  ("meanValence", "meanArousal", "meanDominance"))))
    if not rows["wav.scp"]:
        raise SystemExit(f"{table}: no speech rows")
    out = Path(args.out)
    write_datadir(out, rows, genders, dict.fromkeys(label_map.values()))
    print(f"{out}: {len(rows['wav.scp'])} utterances, {len(genders)} speakers")


if __name__ == "__main__":
    main()
