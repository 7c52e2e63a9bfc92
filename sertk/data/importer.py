"""`sertk data import`: a data dir from a directory tree whose paths name the labels.

The pattern describes each audio file's path relative to the root, with named fields:
`{spk}` (required), `{emo}` (required), `{gender}` (m/f/male/female), `{utt}` and any other
`{name}` (ignored); `{name:N}` is exactly N characters; `{*}` matches anything within one path
part. Examples:
    "{emo}/{spk}_{*}.wav"          a folder per emotion
    "{spk}/{*}{emo:1}a.wav"        speaker folders, a one-letter emotion code in the file name
    "re:(?P<spk>\\d\\d)a\\d\\d(?P<emo>[A-Z])[a-z]\\.wav"   a regular expression with named groups
Each field matches within one path part. A file that does not match is an error naming it
(`skip_unmatched`: counted and left out). Raw labels go through a label map (raw -> canonical,
e.g. the recipe's conf/emotions.yaml; its order is the class order); a raw label missing from
the map is an error naming the file. Genders come from `{gender}` or a speaker -> gender map;
without either, no spk2gender is written.
"""
import re
from collections import Counter
from pathlib import Path
from typing import Dict, Optional

from sertk.data.datadir import write_spk2utt
from sertk.fileio import write_list, write_table

GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def compile_pattern(pattern: str) -> re.Pattern:
    """`{name}` fields and `{*}` wildcards (one path part each) or `re:<regex>` -> a regex
    matched against the whole relative path."""
    if pattern.startswith("re:"):
        try:
            rx = re.compile(pattern[3:])
        except re.error as e:
            raise ValueError(f"pattern {pattern!r}: not a regular expression ({e})") from None
    else:
        parts, pos = [], 0
        field = r"\{(\*|[A-Za-z_]\w*)(?::(\d+))?\}"
        for m in re.finditer(field, pattern):
            parts.append(re.escape(pattern[pos:m.start()]))
            name, width = m.group(1), m.group(2)
            if name != "*" and f"(?P<{name}>" in "".join(parts):
                raise ValueError(f"pattern {pattern!r}: field {{{name}}} appears twice")
            chars = f"[^/]{{{width}}}" if width else "[^/]+?"
            parts.append("[^/]*?" if name == "*" else f"(?P<{name}>{chars})")
            pos = m.end()
        if re.search(r"[{}]", re.sub(field, "", pattern)):
            raise ValueError(f"pattern {pattern!r}: fields are {{name}} or {{name:width}} (letters, digits, _) or {{*}}")
        rx = re.compile("".join(parts) + re.escape(pattern[pos:]))
    missing = [f for f in ("spk", "emo") if f not in rx.groupindex]
    if missing:
        raise ValueError(f"pattern {pattern!r}: needs the field(s) {', '.join('{' + f + '}' for f in missing)}")
    return rx


def import_tree(root, out_dir, pattern: str, label_map: Optional[Dict[str, str]] = None,
                spk2gender: Optional[Dict[str, str]] = None, skip_unmatched: bool = False,
                emotions_file=None) -> dict:
    """Write out_dir (wav.scp, utt2spk, utt2emo, spk2utt, [spk2gender]) and the label inventory
    (default out_dir/../emotions.txt). Returns counts of what was read."""
    root, out = Path(root).resolve(), Path(out_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    rx = compile_pattern(pattern)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ValueError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
    rows, genders, unmatched, raw_counts = {}, {}, [], Counter()
    for f in files:
        rel = f.relative_to(root).as_posix()
        m = rx.fullmatch(rel)
        if m is None:
            unmatched.append(rel)
            continue
        spk, raw = m.group("spk"), m.group("emo")
        if label_map is not None and raw not in label_map:
            raise ValueError(f"{f}: label {raw!r} is not in the label map (known: {', '.join(sorted(label_map))})")
        emo = label_map[raw] if label_map is not None else raw
        raw_counts[raw] += 1
        gender = None
        if "gender" in rx.groupindex:
            gender = GENDERS.get(m.group("gender").lower())
            if gender is None:
                raise ValueError(f"{f}: gender {m.group('gender')!r} is not m/f/male/female")
        elif spk2gender is not None:
            if spk not in spk2gender:
                raise ValueError(f"{f}: speaker {spk!r} has no gender in the speaker-gender map")
            gender = GENDERS.get(str(spk2gender[spk]).lower())
            if gender is None:
                raise ValueError(f"speaker-gender map: {spk}: {spk2gender[spk]!r} is not m/f/male/female")
        if gender is not None and genders.setdefault(spk, gender) != gender:
            raise ValueError(f"{f}: speaker {spk} has two genders")
        # speaker-prefixed ids keep a speaker's utterances together in sorted Kaldi files
        utt = m.group("utt") if "utt" in rx.groupindex else f"{spk}_" + re.sub(r"[^\w.-]", "_", Path(rel).with_suffix("").as_posix())
        if utt in rows:
            raise ValueError(f"{f}: utterance id {utt} repeated (add {{utt}} to the pattern)")
        rows[utt] = (str(f), spk, emo)
    if unmatched and not skip_unmatched:
        raise ValueError(f"{len(unmatched)} file(s) do not match {pattern!r}, e.g. {root / unmatched[0]} "
                         "(fix the pattern, or --skip-unmatched to leave them out)")
    if not rows:
        raise ValueError(f"{root}: no file matches {pattern!r}")
    utts = sorted(rows)
    write_table(out / "wav.scp", [(u, rows[u][0]) for u in utts])
    write_table(out / "utt2spk", [(u, rows[u][1]) for u in utts])
    write_table(out / "utt2emo", [(u, rows[u][2]) for u in utts])
    if genders:
        write_table(out / "spk2gender", sorted(genders.items()))
    write_spk2utt(out, {u: rows[u][1] for u in utts})
    emotions = list(dict.fromkeys(label_map.values())) if label_map is not None else sorted({r[2] for r in rows.values()})
    write_list(emotions_file or out.parent / "emotions.txt", emotions)
    return {"utterances": len(rows), "speakers": len({r[1] for r in rows.values()}), "unmatched": len(unmatched),
            "labels": dict(Counter(r[2] for r in rows.values())), "raw_labels": dict(raw_counts)}
