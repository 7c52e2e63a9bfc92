"""Kaldi-style data directories.

Required files: wav.scp, utt2spk. Optional: spk2utt (derived), utt2emo, spk2gender, text,
utt2avd (valence arousal dominance), utt2style (acted/spontaneous), utt2session, utt2lang,
utt2corpus (for data merged from several corpora), segments (<utt> <recording> <start> <end>), utt2dur.

A label that an utterance does not have is written as `-` (utt2emo `-`, utt2avd `- - -`):
every table still lists every utterance (Kaldi convention), and training on corpora with
different label kinds (discrete here, continuous there) masks the missing ones.
"""
import math
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

from sertk.fileio import read_list, read_table, write_list, write_table

UTT_TABLES = ("utt2spk", "utt2emo", "text", "utt2avd", "utt2style", "utt2session", "utt2lang", "utt2corpus",
              "utt2dur", "segments")
SPK_TABLES = ("spk2gender",)
NO_LABEL = "-"
# In a decode dir (`sertk infer` writes it, `sertk score` reads it; here so that scoring
# needs no torch): speakers the model was trained or selected on.
SEEN_SPEAKERS = "seen_speakers.txt"
# Utterance attributes that multitask models predict next to emotion (CAMuLeNet's gender,
# the expression-aware ECAPA's acted/spontaneous style), with their classes in index order.
# Gender comes from spk2gender, every other attribute from utt2<name>.
ATTRIBUTES = {"gender": ("f", "m"), "style": ("acted", "spontaneous")}


def parse_avd(value: str) -> List[float]:
    """'v a d' -> 3 floats, NaN for `-`; ValueError for anything else (text, NaN, inf, not 3)."""
    parts = value.split()
    vals = [float("nan") if x == NO_LABEL else float(x) for x in parts]
    if len(parts) != 3 or any(x != NO_LABEL and not math.isfinite(v) for x, v in zip(parts, vals)):
        raise ValueError(value)
    return vals


class DataDirError(ValueError):
    """A data directory is inconsistent; the message names the file and the key."""


class DataDir:
    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "wav.scp").exists():
            raise DataDirError(f"{self.path}: no wav.scp (not a data directory?)")
        if not (self.path / "utt2spk").exists():
            raise DataDirError(f"{self.path}: no utt2spk")
        self.tables: Dict[str, Dict[str, str]] = {}
        for name in ("wav.scp",) + UTT_TABLES + SPK_TABLES:
            f = self.path / name
            if f.exists():
                self.tables[name] = read_table(f)
        self.utts: List[str] = list(self.tables["utt2spk"].keys())

    # -- accessors -------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.tables

    def table(self, name: str) -> Dict[str, str]:
        if name not in self.tables:
            raise DataDirError(f"{self.path}: {name} is needed but missing")
        return self.tables[name]

    @property
    def utt2spk(self) -> Dict[str, str]:
        return self.tables["utt2spk"]

    def spk2utt(self) -> Dict[str, List[str]]:
        out = defaultdict(list)
        for utt, spk in self.utt2spk.items():
            out[spk].append(utt)
        return dict(out)

    def speakers(self) -> List[str]:
        return sorted(set(self.utt2spk.values()))

    def audio_source(self, utt: str):
        """(source, start, end) for an utterance, resolving `segments` when present."""
        if "segments" in self.tables:
            rec, start, end = self.tables["segments"][utt].split()
            return self.tables["wav.scp"][rec], float(start), float(end)
        return self.tables["wav.scp"][utt], None, None

    def utt2avd(self, utt: str):
        """[valence, arousal, dominance]; NaN where the utterance has no such label. A value
        that is not 3 finite numbers (or `-`) is an error naming the file and utterance."""
        value = self.tables["utt2avd"][utt]
        try:
            return parse_avd(value)
        except ValueError:
            raise ValueError(f"{self.path}/utt2avd: utterance {utt}: expected 3 finite numbers "
                             f"(valence arousal dominance; '-' for none), got {value!r}") from None

    def attribute(self, name: str) -> Optional[Dict[str, str]]:
        """utt -> value of an auxiliary-task attribute (see ATTRIBUTES), None if the dir lacks
        it; utterances without one get NO_LABEL."""
        if name == "gender":
            if not self.has("spk2gender"):
                return None
            return {u: self.tables["spk2gender"].get(s, NO_LABEL) for u, s in self.utt2spk.items()}
        table = f"utt2{name}"
        if not self.has(table):
            return None
        return {u: self.tables[table].get(u, NO_LABEL) for u in self.utts}

    def emotions(self) -> Optional[List[str]]:
        """The emotion inventory: emotions.txt in the dir (or its parent, for fold subsets)."""
        for cand in (self.path / "emotions.txt", self.path.parent / "emotions.txt"):
            if cand.exists():
                return read_list(cand)
        return None

    def select(self, where: Dict[str, List[str]]) -> List[str]:
        """Utterances whose value in each named table (utt2style, utt2emo, ...; spk2gender via
        the speaker) is one of the given values."""
        keep = list(self.utts)
        for name, values in where.items():
            table, values = self.table(name), set(values)
            key = (lambda u: self.utt2spk[u]) if name in SPK_TABLES else (lambda u: u)
            keep = [u for u in keep if table.get(key(u)) in values]
        return keep

    # -- writing ---------------------------------------------------------------------------
    def subset(self, utts, outdir, emotions: Optional[List[str]] = None) -> "DataDir":
        """Write the given utterances (and their speakers/recordings) to a new data dir, with
        the inventory `emotions` (default: this dir's)."""
        if not utts:
            raise DataDirError(f"{self.path}: the subset for {outdir} has no utterance")
        outdir = Path(outdir)
        keep = set(utts)
        spks = {self.utt2spk[u] for u in keep}
        for name, table in self.tables.items():
            if name == "wav.scp" and "segments" in self.tables:
                recs = {self.tables["segments"][u].split()[0] for u in keep}
                rows = [(k, v) for k, v in table.items() if k in recs]
            elif name in SPK_TABLES:
                rows = [(k, v) for k, v in table.items() if k in spks]
            else:
                rows = [(k, v) for k, v in table.items() if k in keep]
            write_table(outdir / name, rows)
        write_spk2utt(outdir, {u: self.utt2spk[u] for u in keep})
        inv = emotions or self.emotions()
        if inv is not None:
            write_list(outdir / "emotions.txt", inv)
        return DataDir(outdir)

    @staticmethod
    def combine(dirs, outdir) -> "DataDir":
        """Union of data dirs with disjoint utterances (tables every dir has; same inventory)."""
        ds = [DataDir(d) for d in dirs]
        outdir = Path(outdir)
        names = [n for n in ds[0].tables if all(d.has(n) for d in ds)]
        for name in names:
            rows = {}
            for d in ds:
                for k, v in d.tables[name].items():
                    if k in rows and rows[k] != v:
                        raise DataDirError(f"{d.path}/{name}: key {k} differs from another dir")
                    rows[k] = v
            write_table(outdir / name, rows.items())
        utt2spk = {u: s for d in ds for u, s in d.utt2spk.items()}
        write_spk2utt(outdir, utt2spk)
        invs = {tuple(d.emotions() or ()) for d in ds}
        if len(invs) > 1:
            raise DataDirError(f"cannot combine {[str(d.path) for d in ds]}: different emotion inventories")
        if invs != {()}:
            write_list(outdir / "emotions.txt", list(invs.pop()))
        return DataDir(outdir)


def write_datadir(outdir, tables: Dict[str, list], spk2gender: Dict[str, str], emotions=None,
                  emotions_file=None) -> None:
    """What every corpus preparation writes: the utterance tables ({name: [(utt, value)]}),
    spk2gender, spk2utt, and the emotion inventory (default: outdir/../emotions.txt, the
    recipe-level inventory that fold subsets find in their parent)."""
    outdir = Path(outdir)
    for name, rows in tables.items():
        write_table(outdir / name, rows)
    write_table(outdir / "spk2gender", spk2gender.items())
    write_spk2utt(outdir, dict(tables["utt2spk"]))
    if emotions is not None:
        write_list(emotions_file or outdir.parent / "emotions.txt", list(emotions))


def write_spk2utt(outdir, utt2spk: Dict[str, str]) -> None:
    spk2utt = defaultdict(list)
    for utt, spk in sorted(utt2spk.items()):
        spk2utt[spk].append(utt)
    write_table(Path(outdir) / "spk2utt", [(s, " ".join(us)) for s, us in spk2utt.items()])

