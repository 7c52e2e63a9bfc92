"""Training configuration defaults; a YAML file and `key=value` overrides go on top.

Every key is checked before anything trains: unknown keys at any depth (model_conf against the
model's constructor, optim_conf against the optimizer's, scheduler_conf against the
scheduler's settings) and values of the wrong type are one-line errors naming key and file.
"""
import inspect
import typing

from sertk.config import dump_yaml, load_yaml

DEFAULTS = {
    "model": "baseline",
    "model_conf": {},
    "optim": "adam",
    "optim_conf": {"lr": 1.0e-3, "weight_decay": 0.0},
    "scheduler": None,          # None | warmup_invsqrt | cosine
    "scheduler_conf": {},
    "batch_size": 32,
    "accum_grad": 1,            # batches per optimizer update (gradient accumulation)
    "max_epochs": 50,
    "patience": 10,             # early stopping on the valid split, in epochs
    "select_metric": "ua",      # sertk.score.metrics.SELECTABLE (ccc: mean V/A/D CCC); valid split only, never test
    "average_best": 0,          # N > 1: best.pt = average of the N best epochs by valid metric
    "refit": False,             # then retrain on train+valid for the selected epochs (test untouched)
    "select": "valid",          # epoch-trained models: valid | inner_cv (epochs by inner leave-speaker-out
                                # CV over train + valid, `inner_folds` splits, then fitted on all of them)
    "class_weight": False,      # inverse-frequency CE weights from the training split
    "label_smoothing": 0.0,
    "grad_clip": 5.0,
    "units_dir": None,          # frame labels of `sertk units` (models that learn them: gmp_atl stage C)
    "init_param": [],           # ["ckpt.pt[:src_prefix[:dst_prefix]]"]: start from earlier weights
    "inner_folds": 5,           # inner leave-speaker-out folds (pooled heads; select: inner_cv)
    "inner_min_speakers": 1,    # inner CV: fewer than inner_folds folds where a fold would hold fewer
                                # training speakers than this (1: up to leave-one-speaker-out)
    "inner_repeats": 1,         # pooled heads: the inner CV repeated over this many partitions of the
                                # speakers into inner_folds (the first as before, the others shuffled),
                                # every choice scored by its mean over them: one partition's score moves
                                # with which speakers happen to share a fold
    "select_tolerance": 0.0,    # pooled heads: among inner-CV choices within this of the best score
                                # (UA/WA as a fraction, or CCC), the simplest: the smallest C, the
                                # largest ridge alpha, the largest weight of pooled_mlp's linear member
    "select_by": "metric",      # pooled heads' inner-CV choices for classes (layer set, C, the linear
                                # member's weight): the select_metric, or log_loss (class-balanced log
                                # loss of the held-out posteriors: smooth where UA is a step function)
    "select_smooth": False,     # pooled heads: rank each inner-CV choice by its score averaged with its
                                # neighbours on the grid (C or alpha per layer set; the linear member's
                                # weight), as the epoch curve already is: a grid's argmax over a few
                                # hundred held-out utterances otherwise follows single-utterance steps
    "linear_grid_average": False,  # pooled heads: the linear member averages its fits over the whole
                                # C (alpha) grid (the logits; V/A/D) instead of choosing one C; the
                                # inner CV then chooses only its layer set (and pooled_mlp's weight)
    "fit_valid": True,          # pooled-statistics heads: fit on train + valid (false: train only,
                                # so valid can score design choices: ser.sh --eval_set valid)
    "seed": 0,
    "num_workers": 0,
}


OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = {None: (), "warmup_invsqrt": ("warmup_steps",), "cosine": ("total_steps",)}


def load_config(path=None, overrides=()) -> dict:
    conf = load_yaml(path, overrides, DEFAULTS)
    where = (str(path) if path else "config") + (f" (with overrides {' '.join(overrides)})" if overrides else "")
    check_config(conf, where)
    return conf


def _type_error(key, value, default):
    """None when `value` has the type of `default` (an int is a float; a bool is no number)."""
    if default is None or isinstance(default, str) and key.startswith("model_conf."):
        return None  # no default to go by; a model's string settings may also take numbers
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            (isinstance(default, float) or isinstance(value, int))
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple)) or isinstance(value, str) and key == "init_param"
    else:
        ok = isinstance(value, type(default))
    want = "true/false" if isinstance(default, bool) else (
        "an integer" if isinstance(default, int) else "a number" if isinstance(default, float) else type(default).__name__)
    return None if ok else f"{key}: expected {want}, got {value!r}"


def _signature_defaults(fn, skip=()):
    """name -> default of fn's keyword parameters; None when it takes **kwargs (not checkable).
    A parameter annotated with a Union (e.g. `layer: Union[int, str] = -1`) takes any type."""
    params = inspect.signature(fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return None
    return {n: (None if p.default is p.empty or typing.get_origin(p.annotation) is typing.Union else p.default)
            for n, p in params.items() if n not in skip and n != "self"}


def _check_section(section, given, allowed, where):
    if not isinstance(given, dict):
        raise ValueError(f"{where}: {section} must be a mapping, got {given!r}")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(f'{section}.{k}' for k in unknown)}; "
                         f"known: {', '.join(sorted(allowed)) or 'none'}")
    for k, v in given.items():
        err = _type_error(f"{section}.{k}", v, allowed[k])
        if err:
            raise ValueError(f"{where}: {err}")


def check_config(conf: dict, where: str) -> None:
    import torch

    from sertk.models import MODELS
    for k, default in DEFAULTS.items():
        err = _type_error(k, conf[k], default) if not isinstance(default, dict) else None
        if err:
            raise ValueError(f"{where}: {err}")
    if conf["model"] not in MODELS:
        raise ValueError(f"{where}: unknown model {conf['model']!r}; registered: {', '.join(sorted(MODELS))}")
    from sertk.score.metrics import SELECTABLE
    if conf["select_tolerance"] < 0:
        raise ValueError(f"{where}: select_tolerance {conf['select_tolerance']} must be >= 0")
    if conf["inner_folds"] < 2:
        raise ValueError(f"{where}: inner_folds {conf['inner_folds']} must be >= 2")
    if conf["inner_min_speakers"] < 1:
        raise ValueError(f"{where}: inner_min_speakers {conf['inner_min_speakers']} must be >= 1")
    if conf["inner_repeats"] < 1:
        raise ValueError(f"{where}: inner_repeats {conf['inner_repeats']} must be >= 1")
    if conf["select_by"] not in ("metric", "log_loss"):
        raise ValueError(f"{where}: select_by {conf['select_by']!r}: use metric or log_loss")
    if conf["select"] not in ("valid", "inner_cv"):
        raise ValueError(f"{where}: select {conf['select']!r}: use valid or inner_cv")
    if conf["select_metric"] not in SELECTABLE:
        raise ValueError(f"{where}: select_metric {conf['select_metric']!r}: use {', '.join(SELECTABLE)}")
    io_args = ("input_layers", "input_dim", "num_classes", "avd", "vocab_size", "input_dims")
    allowed = _signature_defaults(MODELS[conf["model"]].__init__, io_args)
    if allowed is not None:
        _check_section("model_conf", conf["model_conf"] or {}, allowed, where)
    if conf["optim"] not in OPTIMIZERS:
        raise ValueError(f"{where}: optim {conf['optim']!r}: use {', '.join(OPTIMIZERS)}")
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[conf["optim"]]
    allowed = {k: float(v) if type(v) is int else v  # torch writes weight_decay=0: any number
               for k, v in _signature_defaults(cls.__init__, ("params",)).items()}
    allowed["param_lr"] = {}
    allowed["lr"] = 1.0e-3  # torch annotates lr as float | Tensor; it is a number here
    _check_section("optim_conf", conf["optim_conf"], allowed, where)
    if conf["scheduler"] not in SCHEDULERS:
        raise ValueError(f"{where}: scheduler {conf['scheduler']!r}: use "
                         f"{', '.join(str(k) for k in SCHEDULERS if k)} or null")
    _check_section("scheduler_conf", conf["scheduler_conf"] or {},
                   {k: 1 for k in SCHEDULERS[conf["scheduler"]]}, where)


save_config = dump_yaml
