"""Model checkpoints for inference: weights + config + label inventory + feature description."""
import torch

from sertk.fileio import atomic_path
from sertk.models.registry import build_model, restore_conf


def save_model(path, model, conf, emotions, feats_meta, info, io=None):
    """Everything inference needs: weights, config, label inventory, input description and
    `io`, the data-decided constructor arguments (input dims, classes, vocabulary size)."""
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "config": conf, "emotions": emotions,
                    "feats_meta": feats_meta, "info": info, "io": io}, tmp)


def load_model(path, device="cpu", base_dir=None):
    """Rebuild a model from a checkpoint; `./` encoder paths in its config (a packed model)
    are resolved against base_dir."""
    ckpt = torch.load(path, map_location=device, weights_only=False)
    if base_dir is not None:
        from sertk.pack import relocate_paths

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
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
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
