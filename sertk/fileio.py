"""Small file helpers shared by every layer: Kaldi-style text tables and atomic writes."""
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Tuple


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; rename it onto `path` only on success.

    A crash leaves no half-written output, so "file exists" always means "finished".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_table(path) -> Dict[str, str]:
    """Read a Kaldi table (`key value...` per line) into an ordered dict.

    Errors name the file and line: duplicated keys and keys without a value are refused.
    """
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
            key, value = parts
            if key in table:
                raise ValueError(f"{path}:{lineno}: duplicated key {key!r}")
            table[key] = value.strip()
    return table


def write_table(path, items: Iterable[Tuple[str, str]]) -> None:
    """Write `key value` lines sorted by key (Kaldi's `sort` order: byte order)."""
    lines = [f"{k} {v}\n" for k, v in sorted(items, key=lambda kv: kv[0])]
    write_text(path, "".join(lines))


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def write_list(path, items) -> None:
    """One item per line (e.g. the emotions.txt inventory)."""
    write_text(path, "".join(f"{x}\n" for x in items))
