"""Model checkpoints for inference: weights + config + label inventory + feature description."""
import torch

from sertk.fileio import atomic_path
from sertk.models.registry import build_model


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
    model = build_model(ckpt["config"]["model"], ckpt["config"]["model_conf"], **io)
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt
