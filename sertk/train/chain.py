"""Multi-stage training of one fold: a chain config lists steps that run in order, each in its
own sub-dir of the fold's exp dir. A training step is an ordinary training config, optionally
started from an earlier step's weights (`init`) and reading an earlier units step's frame labels
(`units`); a units step runs `sertk units` (k-means of an earlier step's encoder frames, fitted
on the fold's train split only, labelling train and valid; test is never seen). The last training
step's best.pt and config.yaml become the fold's, so inference, scoring and packing are those of
every other model (ser.sh stages 5-7). GMP-ATL's stages A-D are one such chain
(TEMPLATE/conf/train_gmp_atl.yaml):

    chain:
      - {name: A, config: conf/train_gmp_atl_a.yaml}
      - {name: B, units: {model: A, layer: -3}}      # cluster counts: what C learns
      - {name: C, config: conf/train_gmp_atl_c.yaml, init: "A:speech.", units: B}
      - {name: D, config: conf/train_gmp_atl_d.yaml, init: "C:speech."}

A step's config is looked up as written (the recipe's conf/), then next to the chain file (as
ser.sh's find_conf does). Overrides `key=value` go to every training step; `NAME:key=value` to
step NAME only (a units step takes layer, clusters, max_frames, n_init, seed); `NAME:from=DIR`
takes step NAME, finished, from another experiment DIR (DIR/<fold>/<NAME>) instead of running it
(ablations that share earlier stages). A reused or finished step is checked against what this
chain would run: another config or other units settings are refused, never mixed in.
"""
import inspect
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from sertk.config import load_yaml, read_yaml
from sertk.fileio import write_json

log = logging.getLogger(__name__)

UNIT_KEYS = {"model": str, "layer": int, "clusters": list, "max_frames": int, "n_init": int, "seed": int}
STEP_KEYS = {"name", "config", "init", "units"}


@dataclass
class Step:
    name: str
    config: Optional[Path] = None          # training step
    init: Optional[str] = None             # "STEP[:src_prefix[:dst_prefix]]"
    units: object = None                   # training step: the units step it reads; units step: its settings
    overrides: List[str] = field(default_factory=list)
    reuse: Optional[Path] = None           # NAME:from=DIR

    @property
    def trains(self) -> bool:
        return self.config is not None


def is_chain(path) -> bool:
    """True when the YAML at `path` is a chain config (a top-level `chain:` list)."""
    if not path or not Path(path).is_file():
        return False
    conf = read_yaml(path)
    return isinstance(conf, dict) and "chain" in conf


def _find_config(value, chain_path: Path, where: str) -> Path:
    for p in (Path(value), chain_path.parent / Path(value).name):
        if p.is_file():
            return p
    raise FileNotFoundError(f"{where}: config {value} not found (looked in the current dir and next to {chain_path})")


def load_chain(path, overrides=()) -> List[Step]:
    """Parse and check a chain config and its overrides (every step's training config included),
    so that a mistake is a one-line error before anything trains."""
    path = Path(path)
    raw = load_yaml(path)
    if set(raw) != {"chain"} or not isinstance(raw["chain"], list) or not raw["chain"]:
        raise ValueError(f"{path}: a chain config holds one key, `chain`: a list of steps")
    steps: Dict[str, Step] = {}
    for i, s in enumerate(raw["chain"], 1):
        where = f"{path}: step {i}"
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not re.fullmatch(r"[A-Za-z0-9_-]+", s["name"]):
            raise ValueError(f"{where}: each step needs a `name` (letters, digits, _ or -)")
        name = s["name"]
        where = f"{path}: step {name}"
        if name in steps:
            raise ValueError(f"{where}: the name is used twice")
        unknown = set(s) - STEP_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(STEP_KEYS))}")
        if ("config" in s) == isinstance(s.get("units"), dict):
            raise ValueError(f"{where}: give either `config` (a training step) or `units: {{model: STEP, ...}}` (a units step)")
        if "config" in s:
            step = Step(name, _find_config(s["config"], path, where), s.get("init"), s.get("units"))
            if step.init is not None and not _earlier(steps, str(step.init).split(":")[0], where, "init").trains:
                raise ValueError(f"{where}: init {step.init!r} names a units step; name a training step")
            if step.units is not None and _earlier(steps, step.units, where, "units").trains:
                raise ValueError(f"{where}: units {step.units!r} names a training step; name a units step")
        else:
            if "init" in s:
                raise ValueError(f"{where}: a units step has no `init`")
            step = Step(name, units=dict(_unit_defaults(), **s["units"]))
            _check_units(step.units, where)
            if not _earlier(steps, step.units["model"], where, "units.model").trains:
                raise ValueError(f"{where}: units.model {step.units['model']!r} is a units step; name a training step")
        steps[name] = step
    if not list(steps.values())[-1].trains:
        raise ValueError(f"{path}: the last step must train (its model becomes the fold's)")
    _apply_overrides(steps, overrides, path)
    _check_training_configs(steps, path)
    return list(steps.values())


def _unit_defaults() -> dict:
    """What `sertk units` (sertk.units.make_units) does unless told otherwise."""
    from sertk.units import make_units

    params = inspect.signature(make_units).parameters
    return {k: params[k].default for k in ("layer", "max_frames", "n_init", "seed")}


def _earlier(steps, name, where, key) -> Step:
    if name not in steps:
        raise ValueError(f"{where}: {key} {name!r} is not an earlier step ({', '.join(steps) or 'none before it'})")
    return steps[name]


def _check_units(units, where):
    unknown = set(units) - set(UNIT_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown units key(s) {', '.join(sorted(unknown))}; known: {', '.join(UNIT_KEYS)}")
    for k, v in units.items():
        if not isinstance(v, UNIT_KEYS[k]) or isinstance(v, bool):
            raise ValueError(f"{where}: units.{k} should be {UNIT_KEYS[k].__name__}, got {v!r}")
    if "clusters" in units and not all(isinstance(k, int) and k > 1 for k in units["clusters"]):
        raise ValueError(f"{where}: units.clusters should be a list of integers > 1, got {units['clusters']!r}")


def _apply_overrides(steps, overrides, path):
    from sertk.config import parse_override

    for item in overrides:
        m = re.match(r"([A-Za-z0-9_-]+):(.*)$", item)
        if m is None:  # every training step
            for s in steps.values():
                if s.trains:
                    s.overrides.append(item)
            continue
        name, rest = m.groups()
        if name not in steps:
            raise ValueError(f"override {item!r}: {path} has no step {name!r} (steps: {', '.join(steps)})")
        s = steps[name]
        if rest.startswith("from="):
            s.reuse = Path(rest[len("from="):])
        elif s.trains:
            s.overrides.append(rest)
        else:
            s.units = dict(s.units, **parse_override(rest))
            _check_units(s.units, f"override {item!r}")


def _check_training_configs(steps, path):
    """Load every training step's config now (unknown keys, types) and make each units step's
    cluster counts those its readers learn."""
    from sertk.models import MODELS
    from sertk.train.config import load_config

    for s in steps.values():
        if not s.trains:
            continue
        conf = load_config(s.config, s.overrides)
        needs = MODELS[conf["model"]].needs_units(**(conf["model_conf"] or {}))
        if bool(needs) != (s.units is not None):
            raise ValueError(f"{path}: step {s.name}: " + (f"{conf['model']} learns frame labels here: give `units: STEP`"
                             if needs else "its model reads no frame labels: drop `units`"))
        if s.units is not None:
            u = steps[s.units].units
            if "clusters" not in u:
                u["clusters"] = list(needs)
            elif sorted(needs) != sorted(u["clusters"]):
                raise ValueError(f"{path}: step {s.name} learns {list(needs)} clusters but step {s.units} makes "
                                 f"{u['clusters']}: drop units.clusters (it follows the reader) or make them equal")


def step_dir(step: Step, exp_dir: Path) -> Path:
    return step.reuse / exp_dir.name / step.name if step.reuse else exp_dir / step.name


def run_chain(chain_path, overrides, train_dir, valid_dir, feat_dir, exp_dir, ngpu: int = 0) -> dict:
    """Run (or resume) every step of the chain for one fold; returns {step: its result}."""
    from sertk.devices import resolve_device
    from sertk.train.config import load_config
    from sertk.train.trainer import train
    from sertk.units import make_units

    if ngpu > 1:
        raise ValueError("a chain config trains with --ngpu 0 or 1")
    steps = load_chain(chain_path, overrides)
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    plan = {"chain": str(chain_path), "overrides": list(overrides),
            "steps": [{"name": s.name, "dir": str(step_dir(s, exp_dir))} for s in steps]}
    saved = exp_dir / "chain.json"
    if saved.exists() and json.loads(saved.read_text()) != plan:
        raise ValueError(f"{exp_dir} was started from another chain ({saved}); choose another exp dir "
                         "(run.sh: --tag) or remove it")
    write_json(saved, plan)
    if (exp_dir / "train.done").exists():
        log.info("%s exists: the chain already finished", exp_dir / "train.done")
        return json.loads((exp_dir / "train.done").read_text())
    results, dirs = {}, {}
    for s in steps:
        d = dirs[s.name] = step_dir(s, exp_dir)
        if s.reuse and not (d / ("train.done" if s.trains else "units.done")).exists():
            raise ValueError(f"step {s.name}: {d} is not a finished step (from={s.reuse})")
        if s.trains:
            extra = []
            if s.init:
                src, _, prefixes = str(s.init).partition(":")
                extra.append(f"init_param=[{dirs[src] / 'best.pt'}{':' + prefixes if prefixes else ''}]")
            if s.units:
                extra.append(f"units_dir={dirs[s.units]}")
            conf = load_config(s.config, s.overrides + extra)
            log.info("step %s: train %s -> %s%s", s.name, s.config, d, " (reused)" if s.reuse else "")
            results[s.name] = train(conf, train_dir, valid_dir, feat_dir, d, ngpu=ngpu)
            last = s
        else:
            u = s.units
            log.info("step %s: units of %s's encoder (layer %d, clusters %s) -> %s%s", s.name, u["model"], u["layer"],
                     u["clusters"], d, " (reused)" if s.reuse else "")
            results[s.name] = make_units(dirs[u["model"]] / "best.pt", train_dir, [valid_dir], d, u["clusters"],
                                         u["layer"], u["seed"], u["max_frames"], device=resolve_device(ngpu),
                                         n_init=u["n_init"])
    _adopt(dirs[last.name], exp_dir)
    out = {"chain": str(chain_path), "final_step": last.name, "steps": results}
    write_json(exp_dir / "train.done", out)
    return out


def _adopt(src: Path, exp_dir: Path):
    """The last training step's model and config become the fold's (a hard link where it can)."""
    for name in ("best.pt", "config.yaml"):
        tmp = exp_dir / f"{name}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(src / name, tmp)
        except OSError:
            shutil.copyfile(src / name, tmp)
        os.replace(tmp, exp_dir / name)
