"""Speaker-disjoint cross-validation folds and the leakage check that guards them.

Modes:
  speaker     k-fold leave-speaker-out; speakers are dealt to folds gender by gender so every
              fold gets a balanced mix. Fold i tests on group i and validates on group i+1.
  session     leave-one-session-out (utt2session); valid = `n_valid_spk` speakers of the
              training sessions, held out from training.
  predefined  one fold from a `utt2split` file (train/valid/test per utterance; `-` leaves
              one out; an utterance without an entry is an error).
"""
import random
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional

from sertk.data.datadir import NO_LABEL, DataDir
from sertk.fileio import read_table, write_text

SPLITS = ("train", "valid", "test")


class LeakageError(ValueError):
    """A speaker (or session) appears in both the training side and the test side."""


def check_leakage(splits: Dict[str, DataDir], key: str = "speaker", fold: str = "") -> None:
    """Refuse any speaker/session shared between train, valid and test (pairwise)."""
    def groups(d: DataDir):
        if key == "session":
            return set(d.table("utt2session").values())
        return set(d.utt2spk.values())

    names = list(splits)  # every pair, in the order given
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = groups(splits[a]) & groups(splits[b])
            if shared:
                raise LeakageError(
                    f"{fold + ': ' if fold else ''}{key}(s) {' '.join(sorted(shared))} appear in "
                    f"both {a} ({splits[a].path}) and {b} ({splits[b].path})")


def _deal_speakers(d: DataDir, k: int, seed: int) -> List[List[str]]:
    """Split speakers into k groups, balancing gender: deal each gender round-robin."""
    rng = random.Random(seed)
    gender = d.tables.get("spk2gender", {})
    by_gender = defaultdict(list)
    for spk in d.speakers():
        by_gender[gender.get(spk, "?")].append(spk)
    groups: List[List[str]] = [[] for _ in range(k)]
    pos = 0
    for g in sorted(by_gender):
        spks = by_gender[g]
        rng.shuffle(spks)
        for spk in spks:
            groups[pos % k].append(spk)
            pos += 1
    return groups


def make_folds(data_dir, out_dir, mode: str = "speaker", num_folds: int = 5, seed: int = 0,
               n_valid_spk: int = 2, split_file: Optional[str] = None) -> List[Dict[str, DataDir]]:
    d = DataDir(data_dir)
    out_dir = Path(out_dir)
    plans = []  # list of {split: set of utts}
    spk = d.utt2spk
    if mode == "speaker":
        if num_folds > len(d.speakers()):
            raise ValueError(f"{num_folds} folds but only {len(d.speakers())} speakers")
        groups = _deal_speakers(d, num_folds, seed)
        for i in range(num_folds):
            test, valid = set(groups[i]), set(groups[(i + 1) % num_folds])
            plans.append({
                "test": [u for u in d.utts if spk[u] in test],
                "valid": [u for u in d.utts if spk[u] in valid],
                "train": [u for u in d.utts if spk[u] not in test | valid]})
    elif mode == "session":
        sess = d.table("utt2session")
        gender = d.tables.get("spk2gender", {})
        for s in sorted(set(sess.values())):
            rest_spk = sorted({spk[u] for u in d.utts if sess[u] != s})
            rng = random.Random(f"{seed}-{s}")
            rng.shuffle(rest_spk)
            # prefer one speaker per gender when several are held out
            rest_spk.sort(key=lambda x: gender.get(x, "?"))
            by_g = defaultdict(list)
            for x in rest_spk:
                by_g[gender.get(x, "?")].append(x)
            valid = []
            while len(valid) < n_valid_spk and any(by_g.values()):
                for g in sorted(by_g):
                    if by_g[g] and len(valid) < n_valid_spk:
                        valid.append(by_g[g].pop(0))
            valid = set(valid)
            test_spk = {spk[u] for u in d.utts if sess[u] == s}
            plans.append({
                "test": [u for u in d.utts if sess[u] == s],
                "valid": [u for u in d.utts if spk[u] in valid and spk[u] not in test_spk],
                "train": [u for u in d.utts if sess[u] != s and spk[u] not in valid | test_spk]})
    elif mode == "predefined":
        if not split_file:
            raise ValueError("mode 'predefined' needs a utt2split file")
        u2s = read_table(split_file)
        unknown = sorted(set(u2s.values()) - set(SPLITS) - {NO_LABEL})
        if unknown:
            raise ValueError(f"{split_file}: unknown split name(s) {unknown}; use {SPLITS} or '-' (left out)")
        missing = [u for u in d.utts if u not in u2s]
        if missing:  # dropping them silently would change the corpus under the user's feet
            raise ValueError(f"{split_file}: no split for {len(missing)} utterance(s) of {d.path}, e.g. "
                             f"{missing[0]}; give each train, valid, test or '-' (left out)")
        plans.append({s: [u for u in d.utts if u2s.get(u) == s] for s in SPLITS})
    else:
        raise ValueError(f"unknown fold mode {mode!r}: use speaker, session or predefined")

    # a refused build (empty split, leakage) leaves nothing behind that could be trained on
    fresh = not out_dir.exists()
    try:
        return _write_folds(d, out_dir, plans, mode)
    except ValueError:
        if fresh:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _write_folds(d: DataDir, out_dir: Path, plans, mode: str) -> List[Dict[str, DataDir]]:
    folds = []
    for i, plan in enumerate(plans, 1):
        fold = {}
        for name in SPLITS:
            if not plan[name]:
                raise ValueError(f"fold {i}: the {name} split is empty")
            fold[name] = d.subset(plan[name], out_dir / f"fold{i}" / name)
        check_leakage(fold, "speaker", f"fold{i}")
        if mode == "session":
            check_leakage({k: v for k, v in fold.items() if k != "valid"}, "session", f"fold{i}")
        folds.append(fold)
    write_text(out_dir / "summary.txt", fold_summary(folds))
    write_text(out_dir / "num_folds", f"{len(folds)}\n")
    return folds


def fold_summary(folds: List[Dict[str, DataDir]]) -> str:
    """A per-fold table: speakers, utterances and class counts of each split."""
    rows = []
    labels = sorted({e for f in folds for d in f.values() if d.has("utt2emo")
                     for e in d.tables["utt2emo"].values()})
    head = f"{'fold':<8}{'split':<7}{'spk':>5}{'utt':>7}  " + " ".join(f"{l[:7]:>7}" for l in labels)
    rows.append(head)
    rows.append("-" * len(head))
    for i, fold in enumerate(folds, 1):
        for name in SPLITS:
            d = fold[name]
            counts = Counter(d.tables["utt2emo"].values()) if d.has("utt2emo") else Counter()
            rows.append(f"{'fold' + str(i):<8}{name:<7}{len(d.speakers()):>5}{len(d.utts):>7}  "
                        + " ".join(f"{counts.get(l, 0):>7}" for l in labels))
    return "\n".join(rows) + "\n"
