"""Name -> model class, so YAML `model: <name>` + `model_conf: {...}` builds a model."""
from typing import Dict

MODELS: Dict[str, type] = {}


def register_model(name: str):
    """Class decorator: `model: <name>` in a training config builds this SERModel subclass."""
    def deco(cls):
        from sertk.models.base import SERModel
        if not issubclass(cls, SERModel):
            raise TypeError(f"model {name!r}: {cls.__name__} must subclass sertk.models.base.SERModel")
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        MODELS[name] = cls
        return cls
    return deco


def build_model(name: str, conf: dict, **io):
    """`io` carries what the data decides (input layers/dim, number of classes)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    try:
        return MODELS[name](**io, **(conf or {}))
    except TypeError as e:
        raise ValueError(f"model {name!r}: bad model_conf {conf}: {e}") from e


def restore_conf(name: str, conf: dict) -> dict:
    """model_conf for rebuilding a model whose weights come from a checkpoint: a model lists
    in `restore_overrides` the settings that only fetch initial weights (e.g. CAMuLeNet's
    ImageNet AlexNet), so loading a checkpoint never downloads what it then overwrites."""
    return {**(conf or {}), **(MODELS[name].restore_overrides if name in MODELS else {})}


def input_kind(name: str) -> str:
    """`features` (cached upstream features) or `audio` (raw waveforms + transcripts)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
    return MODELS[name].input_kind


def model_args(kind: str, batch: dict) -> tuple:
    """What a model's forward takes: the batch itself for audio models, else (feats, lengths)."""
    return (batch,) if kind == "audio" else (batch["feats"], batch["lengths"])
