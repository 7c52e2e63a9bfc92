"""`sertk pack`: a self-contained model archive that `sertk infer` takes directly.

Contents: model.pt (best checkpoint), extract.yaml (how to compute its input features from
audio; absent for models that read audio themselves), emotions.txt, config.yaml, RESULTS.md
when given, and upstream/ — copies of the local upstream/encoder directories or checkpoints
the model needs, so the archive works without the original paths or a hub.
"""
import shutil
import tarfile
import tempfile
from pathlib import Path

import yaml

from sertk.config import PATH_KEYS, read_yaml

from sertk.fileio import atomic_path, write_text
from sertk.models.checkpoint import read_checkpoint, save_checkpoint


def _copy_local_paths(conf, root: Path) -> None:
    """Copy every local `name_or_path`/`path_or_url` in a (nested) config into root/upstream/
    and point the config at the copy ("./upstream/<name>", relative to the pack dir)."""
    for key, value in list(conf.items()):
        if isinstance(value, dict):
            _copy_local_paths(value, root)
        elif key in PATH_KEYS and isinstance(value, str) and Path(value).exists():
            dst = root / "upstream" / Path(value).name
            if not dst.exists():
                (shutil.copytree if Path(value).is_dir() else shutil.copy)(value, dst)
            conf[key] = "./" + str(dst.relative_to(root))


def pack(exp_dir, extract_config, out_file, results=None) -> Path:
    exp_dir, out_file = Path(exp_dir), Path(out_file)
    best = exp_dir / "best.pt"
    if not best.exists():
        raise FileNotFoundError(f"{best} not found: train first")
    name = out_file.name.replace(".tar.gz", "").replace(".tgz", "")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        root.mkdir()
        ckpt = read_checkpoint(best)
        if extract_config:  # comma-separated: one config per feature stream, stored as a list
            confs = [read_yaml(c) for c in str(extract_config).split(",")]
            for conf in confs:
                _copy_local_paths(conf, root)
            write_text(root / "extract.yaml", yaml.safe_dump(confs[0] if len(confs) == 1 else confs,
                                                             sort_keys=False))
        # encoders a model loads itself (MMER's wav2vec2/RoBERTa) travel the same way
        _copy_local_paths(ckpt["config"]["model_conf"] or {}, root)
        save_checkpoint(ckpt, root / "model.pt")
        write_text(root / "emotions.txt", "".join(e + "\n" for e in ckpt["emotions"]))
        write_text(root / "config.yaml", yaml.safe_dump(ckpt["config"], sort_keys=False))
        if results and Path(results).exists():
            shutil.copy(results, root / "RESULTS.md")
        with atomic_path(out_file) as t:
            with tarfile.open(t, "w:gz") as tar:
                tar.add(root, arcname=name)
    return out_file
