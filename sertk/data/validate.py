"""`sertk data validate`: check a data dir before anything is computed from it."""
import logging
from pathlib import Path
from typing import List

from sertk.data.audio import MIN_SECONDS, TARGET_SR, AudioError, audio_info
from sertk.data.datadir import ATTRIBUTES, NO_LABEL, UTT_TABLES, DataDir, DataDirError, parse_avd
from sertk.fileio import write_table

STYLES = set(ATTRIBUTES["style"])
GENDERS = set(ATTRIBUTES["gender"])
log = logging.getLogger("sertk.data")


def _check_sorted(path: Path, errors: List[str]) -> None:
    keys = [line.split(maxsplit=1)[0] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for prev, cur in zip(keys, keys[1:]):
        if cur < prev:
            errors.append(f"{path}: keys not sorted ({prev!r} before {cur!r}); sort with LC_ALL=C")
            return


def validate_datadir(path, check_audio: bool = True, write_utt2dur: bool = False,
                     max_errors: int = 20) -> DataDir:
    """Raise DataDirError listing every problem found (up to `max_errors`)."""
    try:
        d = DataDir(path)
    except ValueError as e:  # duplicated keys or malformed lines
        raise DataDirError(str(e)) from e
    errors: List[str] = []
    for name in d.tables:
        _check_sorted(d.path / name, errors)
    utts = set(d.utts)
    if not utts:
        errors.append(f"{d.path}/utt2spk: no utterances")
    # every utterance-level table covers exactly the utterances of utt2spk
    for name in UTT_TABLES + (() if d.has("segments") else ("wav.scp",)):
        if name == "utt2spk" or not d.has(name):
            continue
        keys = set(d.tables[name])
        for utt in sorted(utts - keys)[:3]:
            errors.append(f"{d.path}/{name}: utterance {utt} missing (it is in utt2spk)")
        for utt in sorted(keys - utts)[:3]:
            errors.append(f"{d.path}/{name}: utterance {utt} not in utt2spk")
    if d.has("segments"):
        for utt, seg in d.tables["segments"].items():
            rec = seg.split()[0]
            if rec not in d.tables["wav.scp"]:
                errors.append(f"{d.path}/segments: utterance {utt}: recording {rec} not in wav.scp")
    # speaker-level tables
    if d.has("spk2gender"):
        g = d.tables["spk2gender"]
        for spk in d.speakers():
            if spk not in g:
                errors.append(f"{d.path}/spk2gender: speaker {spk} missing")
            elif g[spk] not in GENDERS:
                errors.append(f"{d.path}/spk2gender: speaker {spk}: gender {g[spk]!r} not m/f")
    # label values
    inventory = d.emotions()
    if d.has("utt2emo"):
        if inventory is None:
            errors.append(f"{d.path}: utt2emo present but no emotions.txt inventory")
        else:
            for utt, emo in d.tables["utt2emo"].items():
                if emo != NO_LABEL and emo not in inventory:
                    errors.append(f"{d.path}/utt2emo: utterance {utt}: unknown emotion {emo!r} "
                                  f"(inventory: {' '.join(inventory)})")
    if d.has("utt2avd"):
        for utt, v in d.tables["utt2avd"].items():
            try:
                parse_avd(v)
            except ValueError:
                errors.append(f"{d.path}/utt2avd: utterance {utt}: expected 3 finite floats "
                              f"(valence arousal dominance; '-' for none), got {v!r}")
    if d.has("utt2style"):
        for utt, s in d.tables["utt2style"].items():
            if s not in STYLES:
                errors.append(f"{d.path}/utt2style: utterance {utt}: style {s!r} not in {sorted(STYLES)}")
    # audio: readable and non-empty
    durs, narrow = {}, {}  # sample rate below 16 kHz -> an utterance that has it
    if check_audio and not errors:
        for utt in d.utts:
            source, start, end = d.audio_source(utt)
            try:
                dur, sr = audio_info(utt, source)
            except AudioError as e:
                errors.append(str(e))
            else:
                if start is not None:
                    dur = (dur if end is None or end < 0 else min(end, dur)) - start
                if dur <= 0:
                    errors.append(f"utterance {utt}: audio {source!r} is empty")
                elif dur < MIN_SECONDS:
                    errors.append(f"utterance {utt}: audio {source!r} is {dur:.3f} s long; at least "
                                  f"{MIN_SECONDS} s is needed")
                if sr < TARGET_SR:
                    narrow.setdefault(sr, utt)
                durs[utt] = dur
            if len(errors) >= max_errors:
                break
    if errors:
        more = "" if len(errors) < max_errors else f"\n  (stopped after {max_errors} errors)"
        raise DataDirError(f"{d.path}: {len(errors)} problem(s):\n  " + "\n  ".join(errors[:max_errors]) + more)
    for sr, utt in narrow.items():
        log.warning("%s: audio at %d Hz (e.g. utterance %s) will be upsampled to %d Hz; its band above "
                    "%d Hz is empty", d.path, sr, utt, TARGET_SR, sr // 2)
    if write_utt2dur and durs:
        write_table(d.path / "utt2dur", [(u, f"{t:.3f}") for u, t in durs.items()])
        d = DataDir(d.path)
    return d
