"""YAML configs with `key.sub=value` command-line overrides (shared by every command)."""
import copy
import re
from pathlib import Path

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-3` as a float (YAML 1.1 insists on `1.0e-3`)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def yaml_load(text: str):
    return yaml.load(text, Loader=_Loader)


def read_yaml(path):
    """The parsed YAML file at `path`; a syntax error is a ValueError naming the file and line."""
    try:
        return yaml_load(Path(path).read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', None) or e.__class__.__name__})") from None


def content_hash(path) -> str:
    """12 hex digits of a YAML file's parsed content (a comment edit is no change): what ser.sh
    records in train.inputs and the claims report checks kept scores against."""
    import hashlib
    import json
    return hashlib.sha1(json.dumps(read_yaml(path), sort_keys=True, default=str).encode()).hexdigest()[:12]


def deep_update(base: dict, new: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (new or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_update(out[k], v)
        else:
            out[k] = v
    return out


def parse_override(item: str) -> dict:
    """`optim_conf.lr=1e-4` -> {'optim_conf': {'lr': 1e-4}} (values parsed as YAML)."""
    if "=" not in item:
        raise ValueError(f"override {item!r} is not key=value")
    key, value = item.split("=", 1)
    out = cur = {}
    parts = key.split(".")
    for p in parts[:-1]:
        cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = yaml_load(value)
    return out


def load_yaml(path=None, overrides=(), defaults=None, strict: bool = True) -> dict:
    """defaults <- YAML file <- overrides. With `strict`, keys unknown to defaults are refused."""
    conf = copy.deepcopy(defaults or {})
    layers = []
    if path:
        layers.append((str(path), read_yaml(path) or {}))
    layers += [(f"override {o!r}", parse_override(o)) for o in overrides]
    for where, layer in layers:
        if strict and defaults is not None:
            unknown = set(layer) - set(defaults)
            if unknown:
                raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(defaults)}")
        conf = deep_update(conf, layer)
    return conf


def dump_yaml(conf: dict, path) -> None:
    from sertk.fileio import write_text

    write_text(Path(path), yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))


def config_diff(old: dict, new: dict, prefix: str = "", limit: int = 3) -> str:
    """The first `limit` keys whose values differ: 'optim_conf.lr 0.001 -> 0.5, seed 0 -> 1'."""
    def walk(a, b, pre):
        for k in sorted(set(a) | set(b), key=str):
            x, y = a.get(k, "<unset>"), b.get(k, "<unset>")
            if isinstance(x, dict) and isinstance(y, dict):
                yield from walk(x, y, f"{pre}{k}.")
            elif x != y:
                yield f"{pre}{k} {x!r} -> {y!r}"
    diffs = list(walk(old or {}, new or {}, prefix))
    return ", ".join(diffs[:limit]) + (f" (+{len(diffs) - limit} more)" if len(diffs) > limit else "") or "no difference"


# Config keys naming an upstream's weights (a local dir/file or a hub name). `sertk pack` copies
# local ones into the archive as "./upstream/<name>"; loading resolves them against the pack dir.
PATH_KEYS = ("name_or_path", "path_or_url")


def relocate_paths(conf: dict, pack_dir) -> None:
    """Point the packed "./..." paths of a (nested) config at pack_dir (in place)."""
    for key, value in list(conf.items()):
        if isinstance(value, dict):
            relocate_paths(value, pack_dir)
        elif key in PATH_KEYS and isinstance(value, str) and value.startswith("./"):
            conf[key] = str(Path(pack_dir) / value[2:])
