"""Model checkpoints for inference: weights + config + label inventory + feature description.

Checkpoints are shared (`sertk pack`), so loading one must never run code: they hold only
tensors and plain data (dicts, lists, strings, numbers) and are read with torch's weights-only
unpickler, which refuses anything else. A file that needs the full unpickler (a foreign file,
or one written before this rule) is refused with a hint; `sertk convert-checkpoint --trust`
rewrites one the user trusts.
"""
import pickle
from pathlib import Path

import numpy as np
import torch

from sertk.config import relocate_paths
from sertk.fileio import atomic_path
from sertk.models.registry import build_model, restore_conf


class UnsafeCheckpointError(ValueError):
    """A checkpoint that only the full (code-running) unpickler could read."""


def plain(obj):
    """`obj` as tensors and plain Python data only (numpy scalars and arrays, tuples and paths
    converted), so that the weights-only unpickler can read it back."""
    if isinstance(obj, np.generic):  # before the scalar check: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, torch.Tensor) or obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {plain(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint: {obj!r:.80}")


def save_checkpoint(obj, path) -> None:
    with atomic_path(path) as tmp:
        torch.save(plain(obj), tmp)


def read_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint without running code from it (weights-only unpickling)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f"{path}: refused, it holds pickled Python objects that could run code when loaded "
            f"({str(e).splitlines()[0][:120]}). If it is an older sertk checkpoint you trust: "
            f"sertk convert-checkpoint --trust {path} NEW.pt") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise ValueError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0][:120]})") from None


def convert_checkpoint(src, dst) -> None:
    """Rewrite a trusted old-style checkpoint (full unpickler: it may run code, which is why
    the CLI asks for --trust) as a weights-only one."""
    save_checkpoint(torch.load(src, map_location="cpu", weights_only=False), dst)


def save_model(path, model, conf, emotions, feats_meta, info, io=None):
    """Everything inference needs: weights, config, label inventory, input description and
    `io`, the data-decided constructor arguments (input dims, classes, vocabulary size)."""
    save_checkpoint({"model": model.state_dict(), "config": conf, "emotions": emotions,
                     "feats_meta": feats_meta, "info": info, "io": io}, path)


def load_model(path, device="cpu", base_dir=None):
    """Rebuild a model from a checkpoint; `./` encoder paths in its config (a packed model)
    are resolved against base_dir."""
    ckpt = read_checkpoint(path, map_location=device)
    if base_dir is not None:
        relocate_paths(ckpt["config"]["model_conf"] or {}, base_dir)
    meta = ckpt["feats_meta"]
    io = ckpt.get("io") or {"input_layers": meta["num_layers"], "input_dim": meta["dim"],
                            "num_classes": len(ckpt["emotions"])}
    name = ckpt["config"]["model"]
    model = build_model(name, restore_conf(name, ckpt["config"]["model_conf"]), **io)
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt


def init_params(model, specs) -> int:
    """Initialise parts of `model` from earlier checkpoints (ESPnet's `init_param`): each spec
    is "path[:src_prefix[:dst_prefix]]"; the weights under src_prefix (default: all) are loaded
    under dst_prefix (default: the same). Returns the number of tensors loaded; a spec that
    matches nothing, or a shape mismatch, is an error naming the checkpoint."""
    total = 0
    for spec in ([specs] if isinstance(specs, str) else specs):
        path, src, dst = (str(spec).split(":") + ["", ""])[:3]
        dst = dst or src
        ckpt = read_checkpoint(path)
        state = ckpt.get("model", ckpt)
        own = model.state_dict()
        picked = {dst + k[len(src):]: v for k, v in state.items() if k.startswith(src)}
        missing = [k for k in picked if k not in own]
        if not picked or missing:
            raise ValueError(f"init_param {spec}: {'no weights under ' + repr(src) if not picked else 'no such parameters here: ' + ', '.join(missing[:3])}")
        bad = [k for k, v in picked.items() if own[k].shape != v.shape]
        if bad:
            raise ValueError(f"init_param {spec}: shape mismatch for {bad[:3]}")
        model.load_state_dict(picked, strict=False)
        total += len(picked)
    return total
