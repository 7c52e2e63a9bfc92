#!/usr/bin/env python3
"""Write a Kaldi-style data dir for BAUM-1 (Zhalehpour et al.; Turkish, audio-visual):
BAUM-1a (acted) and BAUM-1s (spontaneous) as distributed:

    <root>/BAUM1a_MP4 - All/S001/S001_001.mp4 ...     <root>/Annotations_BAUM1a.xlsx (or .csv/.tsv)
    <root>/BAUM1s_MP4 - All/S001/S001_001.mp4 ...     <root>/Annotations_BAUM1s.xlsx

Each annotation row names a clip (S001_001), its emotion in words (Anger, Happiness, ...) and,
where the sheet has it, the subject's gender (F/M); columns are found by their content, not by
position. The audio stays in the .mp4 files: wav.scp holds an ffmpeg pipe that decodes it to
16 kHz mono (the ffmpeg on PATH, else the static binary of the imageio-ffmpeg package).

Speakers: the subject id (S001) is the speaker in both subsets, so a subject that appears in
BAUM-1a and BAUM-1s is one speaker and never straddles train and test.
"""
import argparse
import re
import shlex
import shutil
from collections import Counter
from pathlib import Path

from sertk.data.datadir import write_datadir

# emotion words of the two annotation sheets -> the codes used here (IEMOCAP's where it has them)
EMOTIONS = {"anger": "ang", "boredom": "bor", "bothered": "bot", "concentrating": "cnc", "contempt": "con",
            "disgust": "dis", "fear": "fea", "happiness": "hap", "interest": "int", "neutral": "neu",
            "sadness": "sad", "surprise": "sur", "thinking": "thi", "unsure": "uns"}
PAPER_SIX = "ang,dis,fea,hap,sad,sur"  # the six basic emotions the expression-aware ECAPA paper uses
GENDERS = {"f": "f", "female": "f", "k": "f", "m": "m", "male": "m", "e": "m"}  # k/e: kadın/erkek
CLIP = re.compile(r"^s\d+_\d+$", re.IGNORECASE)
SUBSETS = {"a": "acted", "s": "spontaneous"}


def ffmpeg_binary() -> str:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # not installed, or no binary for this platform
        raise SystemExit(f"BAUM-1 audio is in .mp4 files: install ffmpeg or `pip install imageio-ffmpeg` ({e})")


def read_rows(path: Path):
    """(line number, [cell strings]) of an .xlsx (first sheet), .csv or .tsv annotation file."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl
        sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        for n, row in enumerate(sheet.iter_rows(values_only=True), 1):
            yield n, ["" if c is None else str(c).strip() for c in row]
    else:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            yield n, [c.strip() for c in line.split(sep)]


def parse_row(cells):
    """(clip, emotion word, gender or None) of an annotation row; None for header/blank rows."""
    clips = [c for c in cells if CLIP.match(c)]
    if not clips:
        return None
    words = [c.lower() for c in cells if c.lower() in EMOTIONS]
    genders = [GENDERS[c.lower()] for c in cells if c.lower() in GENDERS]
    return clips[0].upper(), (words[0] if words else None), (genders[0] if genders else None)


def find_annotation(root: Path, subset: str) -> Path:
    for ext in ("xlsx", "csv", "tsv"):
        hits = sorted(p for p in root.rglob(f"*.{ext}") if p.stem.lower() == f"annotations_baum1{subset}")
        if hits:
            return hits[0]
    raise SystemExit(f"{root}: no Annotations_BAUM1{subset}.xlsx/.csv/.tsv (is this the BAUM-1 root?)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", help="BAUM-1 root (holds the BAUM1a_/BAUM1s_ video dirs and the annotations)")
    ap.add_argument("out", help="output data dir, e.g. data/all")
    ap.add_argument("--emotions", default=PAPER_SIX, help=f"codes to keep [{PAPER_SIX}]")
    ap.add_argument("--subsets", default="a,s", help="a (acted BAUM-1a), s (spontaneous BAUM-1s) [a,s]")
    args = ap.parse_args()
    keep = args.emotions.split(",")
    unknown = [e for e in keep if e not in EMOTIONS.values()]
    if unknown:
        raise SystemExit(f"--emotions: unknown code(s) {unknown}; known: {sorted(EMOTIONS.values())}")
    root, ffmpeg = Path(args.corpus), ffmpeg_binary()
    rows = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2style", "utt2corpus", "utt2lang")}
    genders, dropped = {}, Counter()
    for subset in args.subsets.split(","):
        videos = {p.stem.upper(): p for d in root.iterdir() if d.is_dir() and d.name.lower().startswith(f"baum1{subset}_")
                  for p in d.rglob("*.mp4")}
        if not videos:
            raise SystemExit(f"{root}: no .mp4 under a BAUM1{subset}_* dir")
        ann = find_annotation(root, subset)
        for n, cells in read_rows(ann):
            parsed = parse_row(cells)
            if parsed is None:
                continue
            clip, word, gender = parsed
            if word is None:
                raise SystemExit(f"{ann}:{n}: clip {clip}: no known emotion word in {cells}")
            if clip not in videos:
                raise SystemExit(f"{ann}:{n}: clip {clip}: no {clip}.mp4 under {root}/BAUM1{subset}_*")
            emo = EMOTIONS[word]
            if emo not in keep:
                dropped[emo] += 1
                continue
            spk = clip.split("_")[0]
            if gender is not None:
                if genders.setdefault(spk, gender) != gender:
                    raise SystemExit(f"{ann}:{n}: subject {spk} is {gender} here but {genders[spk]} elsewhere")
            utt = f"baum1{subset}_{clip}"
            pipe = f"{shlex.quote(ffmpeg)} -nostdin -loglevel error -i {shlex.quote(str(videos[clip].resolve()))} " \
                   "-vn -ac 1 -ar 16000 -f wav - |"
            rows["wav.scp"].append((utt, pipe))
            rows["utt2spk"].append((utt, spk))
            rows["utt2emo"].append((utt, emo))
            rows["utt2style"].append((utt, SUBSETS[subset]))
            rows["utt2corpus"].append((utt, f"baum1{subset}"))
            rows["utt2lang"].append((utt, "tr"))
    speakers = sorted({s for _, s in rows["utt2spk"]})
    write_datadir(args.out, rows, {s: genders[s] for s in speakers if s in genders}, keep)
    missing = [s for s in speakers if s not in genders]
    if missing:  # a partial spk2gender would fail validation: leave gender out altogether
        print(f"no gender for subject(s) {' '.join(missing)} in the annotations: no spk2gender written")
        (Path(args.out) / "spk2gender").unlink()
    by_style = Counter(s for _, s in rows["utt2style"])
    print(f"{args.out}: {len(rows['utt2spk'])} utterances ({dict(by_style)}), {len(speakers)} subjects; "
          f"dropped {dict(sorted(dropped.items()))}")


if __name__ == "__main__":
    main()
