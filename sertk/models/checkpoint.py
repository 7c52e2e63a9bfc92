"""Model checkpoints for inference: weights + config + label inventory + feature description."""
import torch

from sertk.fileio import atomic_path
from sertk.models.registry import build_model


def save_model(path, model, conf, emotions, feats_meta, info):
    """Everything inference needs: weights, config, label inventory, feature description."""
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "config": conf, "emotions": emotions,
                    "feats_meta": feats_meta, "info": info}, tmp)


def load_model(path, device="cpu"):
    ckpt = torch.load(path, map_location=device, weights_only=False)
    meta = ckpt["feats_meta"]
    model = build_model(ckpt["config"]["model"], ckpt["config"]["model_conf"],
                        input_layers=meta["num_layers"], input_dim=meta["dim"],
                        num_classes=len(ckpt["emotions"]))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt
