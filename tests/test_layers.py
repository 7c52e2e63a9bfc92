"""Imports inside sertk run one way (lower layers never import higher ones, at module level or
inside functions), and no module imports a private name from another package."""
import ast

from tests.conftest import REPO

# data < features < models < train/infer/score; helpers at the bottom, the CLI on top
LAYER = {"fileio": 0, "config": 0, "devices": 0, "frontends": 0, "text": 0,
         "data": 1, "features": 2, "models": 3, "score": 3,
         "train": 4, "infer": 4, "units": 4, "pack": 4, "export": 4, "cli": 5}


def sertk_imports(path):
    """(imported module, names) for every sertk import in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sertk."):
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sertk."):
                    yield a.name, []


def test_imports_run_one_way():
    wrong = []
    for path in sorted((REPO / "sertk").rglob("*.py")):
        rel = path.relative_to(REPO / "sertk")
        src = rel.parts[0].removesuffix(".py")
        if src == "__init__":
            continue
        for module, names in sertk_imports(path):
            dst = module.split(".")[1]
            assert src in LAYER and dst in LAYER, f"{rel}: place {src!r} / {dst!r} in LAYER"
            if LAYER[dst] > LAYER[src]:
                wrong.append(f"{rel} imports {module} (layer {LAYER[dst]} > {LAYER[src]})")
            private = [n for n in names if n.startswith("_")]
            if private and dst != src:
                wrong.append(f"{rel} imports private {private} from {module}")
    assert not wrong, "\n".join(wrong)
