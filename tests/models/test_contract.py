"""The model contract (sertk.models.base.SERModel): every registered model implements it, has
a TEMPLATE training config, and only SERModel subclasses can register. TEMPLATE's chain configs load."""
import pytest
import torch.nn as nn
import yaml

from sertk.models import MODELS, register_model
from sertk.models.base import SERModel
from sertk.train.chain import load_chain
from tests.conftest import REPO


def test_every_model_implements_the_contract_and_has_a_template_config():
    configs = {}
    for f in (REPO / "egs" / "TEMPLATE" / "conf").glob("train_*.yaml"):
        conf = yaml.safe_load(f.read_text())
        if "chain" in conf:  # several steps (sertk/train/chain.py): each must load
            assert load_chain(f), f.name
            continue
        configs.setdefault(conf["model"], []).append(f.name)
    for name, cls in MODELS.items():
        assert issubclass(cls, SERModel), name
        assert cls.input_kind in ("features", "audio"), name
        assert isinstance(cls.needs_units(), list) and isinstance(cls.needs_text(), bool), name
        assert name in configs, f"model {name!r} has no egs/TEMPLATE/conf/train_*.yaml"


def test_only_sermodels_register():
    with pytest.raises(TypeError, match="must subclass"):
        register_model("not_a_sermodel")(type("Plain", (nn.Module,), {}))
    assert "not_a_sermodel" not in MODELS
