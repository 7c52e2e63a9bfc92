#!/usr/bin/env python3
"""Write a Kaldi-style data dir for IEMOCAP from the official IEMOCAP_full_release layout.

  Session{1..5}/sentences/wav/<dialog>/<utt>.wav
  Session{1..5}/dialog/EmoEvaluation/<dialog>.txt     "[start - end]<TAB><utt><TAB><emo><TAB>[V, A, D]"
  Session{1..5}/dialog/transcriptions/<dialog>.txt    "<utt> [start-end]: words"

Speaker = session + the F/M letter of the utterance id's last field (Ses01F_impro01_M003 is
the male speaker of session 1), gender from that letter, style from the dialog name (script
-> acted, impro -> spontaneous), session = Ses0N, V/A/D on IEMOCAP's 1-5 scale. The label
set (conf/labels_*.yaml) maps raw codes to classes; utterances with other codes are dropped
(--other drop, the usual protocol) or kept with no categorical label (--other keep: their
V/A/D still trains the continuous branch).
"""
import argparse
import re
from pathlib import Path

import yaml

from sertk.data.datadir import NO_LABEL, write_datadir

EVAL_LINE = re.compile(r"^\[(\S+) - (\S+)\]\t(\S+)\t(\S+)\t\[([^\]]+)\]")
TRANS_LINE = re.compile(r"^(\S+) \[[^\]]*\]:\s*(.*)$")


def parse_eval(path: Path):
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = EVAL_LINE.match(line)
        if m:
            vad = [float(x) for x in m.group(5).split(",")]
            if len(vad) != 3:
                raise SystemExit(f"{path}: utterance {m.group(3)}: expected [V, A, D], got [{m.group(5)}]")
            yield m.group(3), m.group(4), vad


def parse_transcripts(path: Path):
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = TRANS_LINE.match(line.strip())
            if m:
                out[m.group(1)] = " ".join(m.group(2).split())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", help="IEMOCAP_full_release root (contains Session1..Session5)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--labels", required=True, help="YAML: raw code -> class (order = class order)")
    ap.add_argument("--other", choices=("drop", "keep"), default="drop",
                    help="utterances whose code is not in --labels")
    args = ap.parse_args()
    root = Path(args.corpus)
    label_map = yaml.safe_load(Path(args.labels).read_text())
    sessions = sorted(root.glob("Session[1-5]"))
    if not sessions:
        raise SystemExit(f"no Session1..5 under {root}: is it IEMOCAP_full_release?")
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2avd", "text", "utt2style", "utt2session")}
    genders, dropped = {}, 0
    for ses in sessions:
        session = f"Ses{int(ses.name[-1]):02d}"
        evals = sorted((ses / "dialog" / "EmoEvaluation").glob("*.txt"))
        if not evals:
            raise SystemExit(f"{ses}/dialog/EmoEvaluation: no evaluation files")
        for ev in evals:
            dialog = ev.stem
            text = parse_transcripts(ses / "dialog" / "transcriptions" / f"{dialog}.txt")
            for utt, code, vad in parse_eval(ev):
                label = label_map.get(code)
                if label is None:
                    if args.other == "drop":
                        dropped += 1
                        continue
                    label = NO_LABEL
                wav = ses / "sentences" / "wav" / dialog / f"{utt}.wav"
                if not wav.exists():
                    raise SystemExit(f"utterance {utt}: {wav} missing ({ev} lists it)")
                letter = utt.split("_")[-1][0]
                if letter not in "FM":
                    raise SystemExit(f"utterance {utt}: cannot tell the speaker (expected ..._F000 or ..._M000)")
                spk = f"{session}{letter}"
                genders[spk] = letter.lower()
                rows["wav.scp"].append((utt, str(wav.resolve())))
                rows["utt2spk"].append((utt, spk))
                rows["utt2emo"].append((utt, label))
                rows["utt2avd"].append((utt, " ".join(f"{x:.4f}" for x in vad)))
                rows["text"].append((utt, text.get(utt, "")))
                rows["utt2style"].append((utt, "acted" if "script" in dialog else "spontaneous"))
                rows["utt2session"].append((utt, session))
    if not rows["wav.scp"]:
        raise SystemExit(f"{root}: no utterance with a label in {args.labels}")
    out = Path(args.out)
    write_datadir(out, rows, genders, dict.fromkeys(label_map.values()))
    print(f"{out}: {len(rows['wav.scp'])} utterances, {len(genders)} speakers ({dropped} with other labels dropped)")


if __name__ == "__main__":
    main()
