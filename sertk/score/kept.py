"""Kept scores: one fold's test metrics and what made them, in a file small enough to commit.

Experiment dirs (checkpoints, decodes) are not committed and may not outlive a session or a
machine, so a system whose folds x seeds take many hours could never be reported whole. With
`ser.sh --keep_scores DIR` each fold, once scored, is kept as DIR/<tag>/fold<N>.json: its
metrics.json, its training inputs (config hash, training arguments, feature dirs: what
ser.sh already checks before reusing a trained fold), the resolved config and the commit. A
later run of the same command restores a fold that is not trained in its exp dir from that
record instead of training it again, and refuses a record kept from other inputs; RESULTS.json
then names the commit each restored fold was trained at. `rebuild` writes an experiment's
RESULTS from its records alone (no corpus, no features): what a fresh clone needs to check or
regenerate the tables built from RESULTS.json. The record also holds the fold's test outputs
(posteriors, V/A/D: a few kB), so runs can be fused again (`utils/fuse_runs.sh`) where their exp
dirs are gone.
"""
import json
import re
from pathlib import Path
from typing import Optional

from sertk.data.datadir import SEEN_SPEAKERS
from sertk.fileio import write_json, write_text
from sertk.score.decode_dir import AVD, POSTERIORS

MARK = "kept.json"  # in a restored fold's score dir: where its scores came from
DECODE_FILES = (POSTERIORS, AVD, SEEN_SPEAKERS)  # what fusion reads from a decode dir


def record_path(keep_dir, tag: str, fold: int, eval_set: str = "test") -> Path:
    return Path(keep_dir) / tag / (f"fold{fold}.json" if eval_set == "test" else f"fold{fold}_{eval_set}.json")


def _read(path: Path) -> dict:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a kept-scores record ({e})") from None
    missing = {"inputs", "git", "config", "metrics"} - set(rec)
    if missing:
        raise ValueError(f"{path}: not a kept-scores record (no {', '.join(sorted(missing))})")
    return rec


def keep_fold(fold_dir, keep_dir, fold: int, eval_set: str, git: str, command: str = "",
              num_folds: Optional[int] = None) -> Path:
    """Write the record of a scored fold (exp/<tag>/fold<N>) to keep_dir/<tag>/; returns its path.
    `command`: the user-level command of the run (RESULTS record it); `num_folds`: the recipe's
    (a run is whole once that many folds are kept). A fold restored from a record keeps that
    record."""
    fold_dir = Path(fold_dir)
    score = fold_dir / f"score_{eval_set}"
    if not (score / "metrics.json").exists():
        raise FileNotFoundError(f"{score}/metrics.json not found: fold {fold} is not scored")
    if (score / MARK).exists():  # restored here: its record is already the source
        return Path(json.loads((score / MARK).read_text())["from"])
    if not (fold_dir / "train.inputs").exists():
        raise FileNotFoundError(f"{fold_dir}/train.inputs not found: not a fold trained by ser.sh")
    rec = {"tag": fold_dir.parent.name, "fold": fold, "eval_set": eval_set,
           "inputs": (fold_dir / "train.inputs").read_text().strip(), "git": git, "command": command,
           "num_folds": num_folds,
           "config": (fold_dir / "config.yaml").read_text() if (fold_dir / "config.yaml").exists() else "",
           "metrics": json.loads((score / "metrics.json").read_text())}
    decode = fold_dir / f"decode_{eval_set}"
    files = {n: (decode / n).read_text() for n in DECODE_FILES if (decode / n).exists()}
    if files:
        rec["decode"] = files
    out = record_path(keep_dir, fold_dir.parent.name, fold, eval_set)
    if out.exists():
        old = _read(out)
        if all(old[k] == rec[k] for k in ("inputs", "config", "metrics")):
            # the same fold scored again (a rerun): its record keeps the commit it was first kept at,
            # and gains the decode a record kept before decodes were kept lacks
            if files and "decode" not in old:
                write_json(out, {**old, "decode": files})
            return out
    write_json(out, rec)
    return out


def restore_decode(keep_dir, tag: str, fold: int, eval_set: str, fold_dir) -> bool:
    """Write a kept fold's test outputs and training inputs as fold_dir/decode_<eval_set>/ and
    fold_dir/train.inputs (what fusion reads from a run's fold). False when no record exists;
    a record kept without its outputs is refused (ValueError)."""
    path = record_path(keep_dir, tag, fold, eval_set)
    if not path.exists():
        return False
    rec = _read(path)
    if not rec.get("decode"):
        raise ValueError(f"{path}: kept without its {eval_set} outputs (kept before they were): "
                         f"fuse from the run's exp dir, or score the fold again with --keep_scores")
    unknown = sorted(set(rec["decode"]) - set(DECODE_FILES))  # checked before any write: names become paths
    if unknown:
        raise ValueError(f"{path}: unknown decode file '{unknown[0]}' (expected {', '.join(DECODE_FILES)})")
    fold_dir = Path(fold_dir)
    for name, text in rec["decode"].items():
        write_text(fold_dir / f"decode_{eval_set}" / name, text)
    write_text(fold_dir / "train.inputs", rec["inputs"] + "\n")
    return True


def restore_fold(fold_dir, keep_dir, fold: int, eval_set: str, inputs: str) -> Optional[dict]:
    """Write a kept fold's scores into fold_dir/score_<eval_set> (metrics.json, config.yaml and
    the mark naming the record) when a record exists; None when there is none. A record kept
    from other inputs is refused (ValueError)."""
    fold_dir = Path(fold_dir)
    path = record_path(keep_dir, fold_dir.parent.name, fold, eval_set)
    if not path.exists():
        return None
    rec = _read(path)
    if rec["inputs"] != inputs.strip():
        raise ValueError(f"{path}: fold {fold} was kept from other inputs (config hash, arguments, features: "
                         f"'{rec['inputs']}'; now '{inputs.strip()}'): choose another --tag, or remove {path}")
    _write_scores(fold_dir / f"score_{eval_set}", rec, path)
    return rec


def _write_scores(score: Path, rec: dict, path: Path) -> None:
    write_json(score / "metrics.json", rec["metrics"])
    write_text(score / "config.yaml", rec["config"])
    write_json(score / MARK, {"from": str(path), "git": rec["git"]})


def _records(keep_dir, tag: str):
    """(eval set, {fold: record path}) of an experiment's kept folds."""
    records = {}
    for p in sorted(Path(keep_dir, tag).glob("fold*.json")):
        m = re.fullmatch(r"fold(\d+)(?:_(\w+))?\.json", p.name)
        if m:
            records.setdefault(m.group(2) or "test", {})[int(m.group(1))] = p
    if len(records) != 1:
        raise ValueError(f"{Path(keep_dir, tag)}: " + ("no kept fold" if not records else
                         f"folds kept for several sets ({', '.join(sorted(records))}): one per experiment"))
    (eval_set, paths), = records.items()
    return eval_set, paths


def kept_inputs(keep_dir, tag: str) -> dict:
    """{fold: training inputs} of an experiment's kept folds ({} when none is kept)."""
    if not Path(keep_dir, tag).is_dir():
        return {}
    return {f: _read(p)["inputs"] for f, p in _records(keep_dir, tag)[1].items()}


def complete(keep_dir, tag: str) -> bool:
    """Every fold of the recipe kept (the records' num_folds)."""
    _, paths = _records(keep_dir, tag)
    total = _read(next(iter(paths.values()))).get("num_folds")
    return total is not None and len(paths) >= int(total)


def rebuild(keep_dir, tag: str, exp_root, plots: bool = True, folds=None) -> Path:
    """exp_root/<tag>/RESULTS.{md,json} from the records of keep_dir/<tag>/ alone, as ser.sh's
    stage 6 aggregates them (each fold's score dir restored first; plots=False: no PNG). Refuses
    to write into an existing experiment dir: a run's own folds are never mixed with records.
    folds: only these (e.g. to pair a run of some folds with a complete one); each must be kept."""
    from sertk.score.report import aggregate

    eval_set, paths = _records(keep_dir, tag)
    if folds:
        missing = sorted(set(folds) - set(paths))
        if missing:
            raise ValueError(f"{Path(keep_dir, tag)}: fold(s) {' '.join(map(str, missing))} not kept")
        paths = {f: p for f, p in paths.items() if f in folds}
    exp = Path(exp_root) / tag
    if exp.exists():
        raise ValueError(f"{exp} exists: rebuild writes only where no run is (choose another --exp-root)")
    score_dirs, first = [], None
    for fold, path in sorted(paths.items()):
        rec = _read(path)
        first = first or rec
        score_dirs.append(exp / f"fold{fold}" / f"score_{eval_set}")
        _write_scores(score_dirs[-1], rec, path)
    title = tag + ("" if eval_set == "test" else f" (scored on the {eval_set} split)")
    if first.get("num_folds") and len(paths) < int(first["num_folds"]):  # as ser.sh titles a run cut off
        title += f" (folds {' '.join(map(str, sorted(paths)))} of {first['num_folds']}{'' if folds else ' so far'})"
    aggregate(score_dirs, exp / "RESULTS.md", title, command=first.get("command", ""),
              resolved_configs=[score_dirs[0] / "config.yaml"], git=first["git"], plots=plots)
    return exp / "RESULTS.json"


def kept_commits(score_dirs) -> dict:
    """{score dir: commit} of the restored folds among score_dirs (RESULTS.json records them)."""
    out = {}
    for d in score_dirs:
        mark = Path(d) / MARK
        if mark.exists():
            out[str(d)] = json.loads(mark.read_text())["git"]
    return out
