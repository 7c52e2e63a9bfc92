"""`sertk compare`: paired comparison of systems scored on the same folds (and seeds).

Each system is a RESULTS.json of `sertk aggregate` (or its exp dir); several runs of one system
with different seeds are given comma-joined (`exp/a,exp/a_seed1,exp/a_seed2`). The first system
is the reference; every other one is compared with it fold by fold: seed i of a system is paired
with seed i of the reference on each fold, and a fold's difference is the mean over its seeds
(folds, i.e. test speakers, are the independent units; seeds within a fold are not). Reported:
the per-fold differences of a metric, their mean with a 95% bootstrap interval (resampling
folds), the Wilcoxon signed-rank p-value (scipy) and a PNG of each fold's pair of scores.
Systems whose folds test different speakers (or a different number of utterances) or that have
another number of seeds are refused: a difference between unpaired runs says nothing. The one
exception: a single run of a model that trains without random numbers (`seed_free`, e.g. the
linear probe) stands for every seed of the systems it is paired with.

`reproduction_report` turns a claims file (YAML: one paper claim per entry, the experiments
behind each side) into REPRODUCTION.md rows with a verdict read off the interval.
"""
import json
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

from sertk.fileio import atomic_path, write_text
from sertk.score.metrics import METRICS


def load_runs(files) -> List[Dict]:
    """One entry per system: name, file(s) and `seeds`, a list of RESULTS dicts (one per seed)."""
    runs = []
    for spec in files:
        seeds = []
        for f in str(spec).split(","):
            p = Path(f)
            if p.is_dir():
                p = p / "RESULTS.json"
            if not p.exists():
                raise FileNotFoundError(f"{p} not found (give exp/<tag>/RESULTS.json or exp/<tag>)")
            seeds.append({"file": str(p), **json.loads(p.read_text())})
        name = Path(seeds[0]["file"]).parent.name + (f" (x{len(seeds)} seeds)" if len(seeds) > 1 else "")
        runs.append({"name": name, "file": seeds[0]["file"], "seeds": seeds, "folds": seeds[0]["folds"],
                     "seed_free": len(seeds) == 1 and seed_free(seeds[0])})
    return runs


def seed_free(results: Dict) -> bool:
    """Every fold's model trains without random numbers (`seed_free` of its model class, read
    from the resolved configs in the RESULTS provenance), so its one run stands for any seed."""
    from sertk.config import yaml_load
    from sertk.models import MODELS  # the package import registers every model class

    configs = list((results.get("provenance") or {}).get("resolved_configs", {}).values())
    names = [(yaml_load(c) or {}).get("model") if isinstance(c, str) else None for c in configs]
    return bool(names) and all(n in MODELS and MODELS[n].seed_free for n in names)


def _fold_key(fold: Dict):
    return tuple(sorted(fold.get("speakers", []))), fold.get("num_utts")


def check_paired(runs: List[Dict]) -> None:
    ref = runs[0]
    key = [_fold_key(f) for f in ref["folds"]]
    for r in runs:
        if len(r["seeds"]) != len(ref["seeds"]) and not (r["seed_free"] or ref["seed_free"]):
            raise ValueError(f"{r['file']} has {len(r['seeds'])} seed run(s), {ref['file']} {len(ref['seeds'])}: "
                             "give each system the same seeds (one run serves for all only where the "
                             "model trains without random numbers, e.g. `model: linear`)")
        for s in r["seeds"]:
            if [_fold_key(f) for f in s["folds"]] != key:
                raise ValueError(f"{s['file']} and {ref['file']} were not scored on the same folds "
                                 "(test speakers or utterance counts differ): no paired comparison")


def fold_scores(run: Dict, metric: str, scale: float) -> np.ndarray:
    """(folds,) the metric per fold, averaged over the run's seeds."""
    return np.mean([[f[metric] for f in s["folds"]] for s in run["seeds"]], 0) * scale


def pooled_score(run: Dict, metric: str, scale: float):
    vals = [s["pooled"][metric] for s in run["seeds"] if metric in s.get("pooled", {})]
    return scale * float(np.mean(vals)) if len(vals) == len(run["seeds"]) else None


def paired(ref: Dict, other: Dict, metric: str) -> Dict:
    """Per-fold differences (other - reference, seed-averaged), their mean, 95% bootstrap
    interval and Wilcoxon p-value; in points for percentages."""
    from scipy.stats import wilcoxon

    scale = 100.0 if METRICS[metric].percent else 1.0
    a, b = fold_scores(ref, metric, scale), fold_scores(other, metric, scale)
    # seed means of equal scores can differ by float rounding: a tie is a tie (+ 0.0: no -0.00)
    d = np.round(b - a, 9) + 0.0
    lo, hi = bootstrap_interval(d)
    p = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {"a": a, "b": b, "diff": d, "mean": float(d.mean()), "ci": (lo, hi), "p": p, "scale": scale}


def bootstrap_interval(diff: np.ndarray, n: int = 10000, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def compare(files, metric: str = "ua", out_file=None, png=None) -> str:
    runs = load_runs(files)
    if len(runs) < 2:
        raise ValueError("give at least two systems (the first is the reference)")
    check_paired(runs)
    missing = [s["file"] for r in runs for s in r["seeds"] if any(metric not in f for f in s["folds"])]
    if missing:
        raise ValueError(f"metric {metric!r} missing from the folds of {missing[0]}")
    scale = 100.0 if METRICS[metric].percent else 1.0
    unit = " (points)" if scale == 100 else ""
    ref = runs[0]
    nd = 2 if scale == 100 else 3  # decimals: points of a percentage, or CCC
    a = fold_scores(ref, metric, scale)
    pooled_ref = pooled_score(ref, metric, scale)
    seeds = max(len(r["seeds"]) for r in runs)
    single = [r["name"] for r in runs if r["seed_free"] and seeds > 1]
    lines = [f"Paired comparison on {len(a)} folds" + (f" x {seeds} seeds (a fold's score: the mean over its seeds)"
                                                         if seeds > 1 else "")
             + f", metric {metric}{unit}; reference `{ref['name']}` (per-fold mean {a.mean():.{nd}f}"
             + (f", pooled {pooled_ref:.{nd}f}" if pooled_ref is not None else "") + ")."
             + (f" {', '.join(f'`{n}`' for n in single)}: one run, standing for every seed (its model trains "
                "without random numbers)." if single else ""), "",
             "| system | per-fold mean | pooled | mean difference | 95% bootstrap CI | Wilcoxon p | folds better / worse |",
             "|---|---|---|---|---|---|---|"]
    rows = []
    for r in runs[1:]:
        c = paired(ref, r, metric)
        b, d, (lo, hi) = c["b"], c["diff"], c["ci"]
        pooled = pooled_score(r, metric, scale)
        pooled_txt = "-" if pooled is None else f"{pooled:.{nd}f}" + (
            f" ({pooled - pooled_ref:+.{nd}f})" if pooled_ref is not None else "")
        rows.append((r["name"], b, d))
        lines.append(f"| {r['name']} | {b.mean():.{nd}f} | {pooled_txt} | {d.mean():+.{nd}f} | [{lo:+.{nd}f}, {hi:+.{nd}f}] "
                     f"| {c['p']:.3g} | {(d > 0).sum()} / {(d < 0).sum()} |")
    lines += ["", "Per-fold differences (system - reference): "]
    lines += [f"- {name}: " + " ".join(f"{x:+.{nd}f}" for x in d) for name, _, d in rows]
    text = "\n".join(lines) + "\n"
    if out_file:
        write_text(out_file, text)
    if png:
        plot_pairs(ref["name"], a, rows, metric + unit, png)
    return text


CLAIM_KEYS = {"claim", "paper", "metric", "reference", "system", "direction", "note"}
# a side given as a mapping also says how its experiments are made (run.sh arguments)
RUN_KEYS = {"exps", "train_config", "extract_config", "train_args"}


def load_claims(claims_file, root=None):
    """(claims file, recipe dir, parsed YAML); the recipe dir defaults to the file's
    (egs/<corpus>/conf/claims.yaml -> egs/<corpus>)."""
    from sertk.config import yaml_load

    claims_file = Path(claims_file)
    root = Path(root) if root else claims_file.parent.parent
    spec = yaml_load(claims_file.read_text())
    if not isinstance(spec, dict) or not isinstance(spec.get("claims"), list):
        raise ValueError(f"{claims_file}: expected a mapping with a `claims` list")
    return claims_file, root, spec


def claim_side(c: dict, key: str, where: str):
    """(experiment dirs, run spec or None) of a claim's `reference` or `system`: a list of
    experiment dirs (one per seed), or a mapping {exps, train_config, [extract_config],
    [train_args]} that also says how they are trained (utils/run_claims.sh)."""
    v = c[key]
    if not isinstance(v, dict):
        return (v if isinstance(v, list) else [v]), None
    unknown = set(v) - RUN_KEYS
    if unknown or not {"exps", "train_config"} <= set(v):
        raise ValueError(f"{where}: {key} needs exps and train_config; unknown key(s) {', '.join(sorted(unknown)) or 'none'}")
    exps = v["exps"] if isinstance(v["exps"], list) else [v["exps"]]
    return exps, {k: str(v[k]) for k in ("train_config", "extract_config", "train_args") if v.get(k) is not None}


def run_args(spec: dict, exp: str, seed: int, where: str, expand: bool = True, peers: dict = None) -> list:
    """run.sh arguments that train experiment `exp` (exp/<tag>) of a run spec with seed `seed`
    (0: the config's own; others: `seed=N` added to the training arguments). $VARS in the
    training arguments (e.g. $WHISPER) come from the environment and must be set; `{system}` /
    `{reference}` name the other side's experiment of the same seed (`peers`), e.g. an ablation
    that reuses the system's first stage: `A:from={system}`."""
    if Path(exp).parent != Path("exp"):
        raise ValueError(f"{where}: {exp}: experiments with a run spec must be exp/<tag> (run.sh writes there)")
    train_args = os.path.expandvars(spec.get("train_args", "")) if expand else spec.get("train_args", "")
    for side, peer in (peers or {}).items() if expand else ():
        if "{" + side + "}" in train_args:
            if peer is None:
                raise ValueError(f"{where}: train_args name {{{side}}}, which has no experiment of seed {seed}")
            if peer == exp:
                raise ValueError(f"{where}: {exp}: train_args name {{{side}}}, the experiment itself")
            train_args = train_args.replace("{" + side + "}", peer)
    unset = re.findall(r"\$\{?(\w+)", train_args)
    if unset and expand:
        raise ValueError(f"{where}: train_args name ${unset[0]}, which is not set in the environment")
    if seed:
        train_args = f"{train_args} seed={seed}".strip()
    args = ["--train_config", spec["train_config"]]
    if "extract_config" in spec:
        args += ["--extract_config", spec["extract_config"]]
    if train_args:
        args += ["--train_args", train_args]
    return args + ["--tag", Path(exp).name]


KEPT = Path("results") / "scores"  # where utils/run_claims.sh keeps each fold's scores (sertk/score/kept.py)


def _recipe_conf(root: Path, path: str) -> Path:
    """A recipe's conf/X.yaml, else TEMPLATE/conf/X.yaml (as utils/find_conf.sh)."""
    own, shared = root / path, root.resolve().parent / "TEMPLATE" / "conf" / Path(path).name
    return own if own.exists() or not shared.exists() else shared


def _inputs_pattern(root: Path, run: dict, exp: str, seed: int, peers: dict) -> str:
    """A regular expression of the training inputs (ser.sh's train.inputs: config content hash,
    training arguments, feature dirs) that a claim's run spec trains `exp` from; a $VAR of the
    arguments matches any value (it was expanded on the machine that ran it)."""
    from sertk.config import content_hash
    args = run_args(run, exp, seed, "", expand=False)
    train_args = re.escape(args[args.index("--train_args") + 1]) if "--train_args" in args else ""
    for side, peer in peers.items():
        if peer:
            train_args = train_args.replace(re.escape("{" + side + "}"), re.escape(peer))
    train_args = re.sub(r"\\\$(?:\\\{)?\w+(?:\\\})?", lambda m: r"\S+", train_args)
    extract = run.get("extract_config")
    feats = r"\S+" if extract is None else "" if extract == "none" else re.escape(  # None: run.sh's default
        ",".join(f"dump/{Path(c).stem.removeprefix('extract_')}" for c in extract.split()))
    return f"{content_hash(_recipe_conf(root, run['train_config']))} {train_args} {feats}".strip()


def kept_results(root: Path, exp: str, run: dict, seed: int, peers: dict, cache: Path):
    """(RESULTS.json, whole) of an experiment that is not here, rebuilt from its kept scores
    (root/results/scores/<tag>); None when none is kept. Records kept from other inputs than the
    claim's run spec trains from now (a config or spec edited since) are refused."""
    from sertk.score.kept import complete, kept_inputs, rebuild
    tag = Path(exp).name
    inputs = kept_inputs(root / KEPT, tag)
    if not inputs:
        return None
    if run is not None:
        pattern = _inputs_pattern(root, run, exp, seed, peers)
        other = sorted(f for f, i in inputs.items() if not re.fullmatch(pattern, i))
        if other:
            raise ValueError(f"{root / KEPT / tag}: fold {other[0]} was kept from other inputs "
                             f"('{inputs[other[0]]}') than the claims file's run of {exp} trains from now: "
                             "remove those records or rerun")
    return rebuild(root / KEPT, tag, cache, plots=False), complete(root / KEPT, tag)


def _finished(exp_dir: Path, root: Path) -> bool:
    """RESULTS.json over every fold of the recipe's data/folds (a fold-by-fold run cut off early
    has fewer)."""
    results = exp_dir / "RESULTS.json"
    if not results.exists():
        return False
    folds = len(list((root / "data" / "folds").glob("fold*")))
    return not folds or len(json.loads(results.read_text()).get("folds", [])) >= folds


def pending_runs(claims_file, root=None, match: str = None) -> list:
    """[(exp, run.sh arguments)] of every experiment of a claims YAML that has a run spec and is
    not finished (and whose tag `match`, a regular expression, finds), in the file's order; an
    experiment named by two claims runs once (two different specs for it are refused). An
    experiment whose training arguments read another one (`A:from={system}` -> exp/<tag>) comes
    after it; one that reads an unfinished experiment not in the list is refused."""
    claims_file, root, spec = load_claims(claims_file, root)
    seen, runs, named = {}, [], set()
    for i, c in enumerate(spec["claims"], 1):
        where = f"{claims_file}: claim {i}"
        if not {"reference", "system"} <= set(c):
            raise ValueError(f"{where}: needs claim, reference and system")
        sides = {key: claim_side(c, key, where) for key in ("reference", "system")}
        for key, (exps, run) in sides.items():
            for seed, exp in enumerate(exps):
                named.add(exp)
                if run is None or match and not re.search(match, Path(exp).name):
                    continue
                peers = {k: (e[seed] if seed < len(e) else None) for k, (e, _) in sides.items()}
                args = run_args(run, exp, seed, where, peers=peers)
                if exp in seen:
                    if seen[exp][0] != args:
                        raise ValueError(f"{where}: {exp} is made two ways: {' '.join(seen[exp][0])} / {' '.join(args)}")
                    continue
                seen[exp] = (args, where)
                if not _finished(root / exp, root):
                    runs.append((seed, len(runs), exp, args))
    pending = {exp: args for _, _, exp, args in runs}

    def reads(exp):  # the experiments exp's training arguments name (exp/<tag>)
        args = pending[exp]
        text = args[args.index("--train_args") + 1] if "--train_args" in args else ""
        return [r for r in dict.fromkeys(re.findall(r"\bexp/[\w.-]+", text)) if r != exp]

    order = []

    def emit(exp, path=()):  # what exp reads first (a run cut off early has its inputs)
        if exp in path:
            raise ValueError(f"{claims_file}: {' -> '.join(path + (exp,))}: the experiments read each other")
        if exp in order:
            return
        for r in reads(exp):
            if r in pending:
                emit(r, path + (exp,))
            elif not _finished(root / r, root):
                raise ValueError(f"{seen[exp][1]}: {exp} reads {r}, which is neither finished nor among the runs "
                                 "to make" + (" (--match leaves it out)" if match and r in named else ""))
        order.append(exp)
    # every claim's first seed before any second one: a run cut off early leaves whole seeds
    for _, _, exp, _ in sorted(runs):
        emit(exp)
    return [(exp, pending[exp]) for exp in order]


def verdict(ci, direction: str) -> str:
    """`reproduced` when the 95% interval lies wholly on the claimed side of 0, `reversed` when
    wholly on the other side, else `inconclusive`."""
    lo, hi = ci
    sign = 1 if direction == "higher" else -1
    if sign * lo > 0 and sign * hi > 0:
        return "reproduced"
    if sign * lo < 0 and sign * hi < 0:
        return "not reproduced (reversed)"
    return "inconclusive"


def _side_results(root, specs, cache):
    """Each run of a claim's two sides: ({run dir: RESULTS.json}, missing, partial, kept): its own
    RESULTS.json, else one rebuilt from its kept scores, else missing; a run cut off early (fold
    by fold) covers fewer folds and is partial: no verdict from it. A run here that covers fewer
    folds than its kept scores do whole (its other folds ran on other machines or in other
    sessions) is read from those scores."""
    results, missing, partial, kept = {}, [], [], []
    for exps, run in specs:
        for seed, exp in enumerate(exps):
            e = str(root / exp)
            here = (Path(e) / "RESULTS.json").exists()
            if here and _finished(Path(e), root):
                results[e] = Path(e) / "RESULTS.json"
                continue
            peers = {k: (x[seed] if seed < len(x) else None) for k, (x, _) in zip(("reference", "system"), specs)}
            got = kept_results(root, exp, run, seed, peers, cache)
            if here and not (got and got[1]):
                results[e] = Path(e) / "RESULTS.json"
                partial.append(e)
                continue
            if got is None:
                missing.append(e)
                continue
            results[e], whole = got
            kept.append(exp)
            if not whole:
                partial.append(e)
    return results, missing, partial, kept


def _paired_row(files, metric):
    """The difference, p-value and fold cells of a claim's row from its two sides' RESULTS.json
    files (one per seed, same seeds on both sides), and the `paired` result behind them."""
    runs = load_runs([",".join(f) for f in files])
    check_paired(runs)
    r = paired(runs[0], runs[1], metric)
    nd = 2 if r["scale"] == 100 else 3
    (lo, hi), d = r["ci"], r["diff"]
    return [f"{r['mean']:+.{nd}f} [{lo:+.{nd}f}, {hi:+.{nd}f}]", f"{r['p']:.3g}",
            f"{len(d)} ({(d > 0).sum()} up / {(d < 0).sum()} down)", r]


def reproduction_report(claims_file, root=None, png_dir=None, link_from=None) -> str:
    """REPRODUCTION.md from a claims YAML: `title`, `metric` (default for every claim), `seeds`
    (how many runs each side must have) and `claims`, a list of {claim, paper, reference,
    system, [metric], [direction: higher|lower], [note]} where reference / system are lists of
    experiment dirs (one per seed, relative to `root`, default the claims file's recipe dir). A
    claim whose experiments are not all there is listed as not run, with what is missing (and,
    when some seeds are finished on both sides, their difference marked interim). With
    `png_dir`, each claim with a verdict gets a plot of its per-fold pairs there (claim<N>.png),
    linked from the notes relative to `link_from` (the report's dir)."""
    claims_file, root, spec = load_claims(claims_file, root)
    seeds = int(spec.get("seeds", 3))
    out = [f"# {spec.get('title', 'Reproduction')}", "",
           f"Each row is one paper claim tested here as a paired difference (system - reference) over the same "
           f"folds x {seeds} seeds (a fold's difference is the mean over its seeds), with a 95% bootstrap interval "
           "over folds and the Wilcoxon p-value. Verdict: reproduced when the interval lies wholly on the claimed "
           "side of 0, reversed when wholly on the other, else inconclusive. While some seeds are still "
           "missing, a row shows the difference over the seeds finished on both sides, marked interim, "
           "without a verdict. Generated by", "",
           f"    sertk compare --claims {claims_file.relative_to(root) if claims_file.is_relative_to(root) else claims_file}"
           " --out REPRODUCTION.md" + (f" --png {png_dir}" if png_dir else ""), "",
           "| claim | paper | metric | reference | system | difference [95% CI] | Wilcoxon p | folds | verdict |",
           "|---|---|---|---|---|---|---|---|---|"]
    notes, shown = [], {}  # a side's command once: a later claim sharing it points back
    with tempfile.TemporaryDirectory(prefix="sertk_kept_") as cache:  # RESULTS rebuilt from kept scores
        for i, c in enumerate(spec["claims"], 1):
            unknown = set(c) - CLAIM_KEYS
            if unknown or not {"claim", "reference", "system"} <= set(c):
                raise ValueError(f"{claims_file}: claim {i}: needs claim, reference and system; unknown key(s) "
                                 f"{', '.join(sorted(unknown)) or 'none'}")
            metric = c.get("metric", spec.get("metric", "ua"))
            if metric not in METRICS:
                raise ValueError(f"{claims_file}: claim {i}: unknown metric {metric!r}")
            direction = c.get("direction", "higher" if METRICS[metric].higher_is_better else "lower")
            specs = [claim_side(c, k, f"{claims_file}: claim {i}") for k in ("reference", "system")]
            sides = [[str(root / e) for e in exps] for exps, _ in specs]
            names = [Path(s[0]).name for s in sides]
            results, missing, partial, kept = _side_results(root, specs, Path(cache) / f"claim{i}")
            few = [n for n, s in zip(names, sides) if len(s) < seeds]
            cells = [c["claim"], str(c.get("paper", "-")), metric, f"`{names[0]}`", f"`{names[1]}`"]
            if missing or partial or few:
                rel = lambda es: ", ".join(str(Path(e).relative_to(root)) for e in es)  # noqa: E731
                why = "; ".join(([f"missing {rel(missing)}"] if missing else []) +
                                ([f"unfinished {rel(partial)}"] if partial else []) +
                                ([f"fewer than {seeds} seeds listed"] if few else []))
                # seeds finished on both sides: their difference is shown (no verdict until all are in)
                done = [i for i in range(min(map(len, sides)))
                        if all(s[i] in results and s[i] not in partial for s in sides)]
                if done:
                    cells_done = _paired_row([[str(results[s[i]]) for i in done] for s in sides], metric)
                    out.append("| " + " | ".join(cells + cells_done[:3] + [
                        f"interim, seed{'s' if len(done) > 1 else ''} {', '.join(map(str, done))} of {seeds}: "
                        f"no verdict ({why})"]) + " |")
                else:
                    out.append("| " + " | ".join(cells + ["-", "-", "-", f"not run ({why})"]) + " |")
            else:
                *row, r = _paired_row([[str(results[e]) for e in s] for s in sides], metric)
                out.append("| " + " | ".join(cells + row + [verdict(r["ci"], direction)]) + " |")
                d = r["diff"]
                if png_dir:
                    png = Path(png_dir) / f"claim{i}.png"
                    plot_pairs(f"{names[0]} (x{len(sides[0])} seeds)", r["a"],
                               [(f"{names[1]} (x{len(sides[1])} seeds)", r["b"], d)],
                               metric + (" (points)" if r["scale"] == 100 else ""), png)
                    link = os.path.relpath(png, link_from or ".")
                    notes.append(f"- {c['claim']}: per-fold pairs (a fold's score: the mean over its seeds) "
                                 f"[{link}]({link})")
            if kept:
                notes.append(f"- {c['claim']}: read from the scores kept in {KEPT}/, not from exp/: "
                             + ", ".join(f"`{Path(e).name}`" for e in kept))
            if c.get("note"):
                notes.append(f"- {c['claim']}: {c['note']}")
            for key, (exps, run) in zip(("reference", "system"), specs):
                if run and (exps[0], str(run)) in shown:
                    notes.append(f"- {c['claim']}, {key}: `{Path(exps[0]).name}` as above "
                                 f"({shown[exps[0], str(run)]})")
                elif run:  # the command behind the numbers (seeds after the first: `seed=N` added)
                    shown[exps[0], str(run)] = f"{c['claim']}, {key}"
                    other = "system" if key == "reference" else "reference"
                    notes.append(f"- {c['claim']}, {key}: `./run.sh --stage 4 --stop_stage 6 "
                                 f"{shlex.join(run_args(run, exps[0], 0, claims_file, expand=False))}`" +
                                 (f"; seeds 1-{len(exps) - 1}: `seed=N` added to the training arguments, tags "
                                  + ", ".join(f"`{Path(e).name}`" for e in exps[1:]) if len(exps) > 1 else "") +
                                 (f"; `{{{other}}}`: the {other}'s experiment of the same seed"
                                  if "{" + other + "}" in run.get("train_args", "") else ""))
    if notes:
        out += ["", "Notes:", ""] + notes
    return "\n".join(out) + "\n"


def _wrap(name, width=22):
    lines, line = [], ""
    for part in name.split("_"):
        if line and len(line) + 1 + len(part) > width:
            lines.append(line + "_")
            line = part
        else:
            line = f"{line}_{part}" if line else part
    return "\n".join(lines + [line])


def plot_pairs(ref_name, a, rows, label, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(3.6 * len(rows), 3.4), squeeze=False)
    for ax, (name, b, _) in zip(axes[0], rows):
        for x, y in zip(a, b):
            ax.plot([0, 1], [x, y], "-o", color="tab:green" if y > x else "tab:red" if y < x else "grey", alpha=0.7)
        # experiment names are long: wrapped at underscores so neighbouring ticks do not overlap
        ax.set_xticks([0, 1], [_wrap(ref_name), _wrap(name)], fontsize=7)
        ax.set_ylabel(label)
        ax.set_xlim(-0.3, 1.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
