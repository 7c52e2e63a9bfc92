"""`sertk pack`: a self-contained model archive that `sertk infer` takes directly.

Contents: model.pt (best checkpoint), extract.yaml (how to compute its input features from
audio), emotions.txt, config.yaml, RESULTS.md when given, and upstream/ — a copy of a local
upstream directory or checkpoint, so the archive works without the original paths or a hub.
"""
import shutil
import tarfile
import tempfile
from pathlib import Path

import torch
import yaml

from sertk.config import yaml_load

from sertk.fileio import atomic_path, write_text


def pack(exp_dir, extract_config, out_file, results=None) -> Path:
    exp_dir, out_file = Path(exp_dir), Path(out_file)
    best = exp_dir / "best.pt"
    if not best.exists():
        raise FileNotFoundError(f"{best} not found: train first")
    conf = yaml_load(Path(extract_config).read_text())
    name = out_file.name.replace(".tar.gz", "").replace(".tgz", "")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        root.mkdir()
        shutil.copy(best, root / "model.pt")
        uc = conf.setdefault("upstream_conf", {})
        for key in ("name_or_path", "path_or_url"):
            src = uc.get(key)
            if isinstance(src, str) and Path(src).exists():
                dst = root / "upstream" / Path(src).name
                (shutil.copytree if Path(src).is_dir() else shutil.copy)(src, dst)
                uc[key] = "./" + str(dst.relative_to(root))
        write_text(root / "extract.yaml", yaml.safe_dump(conf, sort_keys=False))
        ckpt = torch.load(best, map_location="cpu", weights_only=False)
        write_text(root / "emotions.txt", "".join(e + "\n" for e in ckpt["emotions"]))
        write_text(root / "config.yaml", yaml.safe_dump(ckpt["config"], sort_keys=False))
        if results and Path(results).exists():
            shutil.copy(results, root / "RESULTS.md")
        with atomic_path(out_file) as t:
            with tarfile.open(t, "w:gz") as tar:
                tar.add(root, arcname=name)
    return out_file
