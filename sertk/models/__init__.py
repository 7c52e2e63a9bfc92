"""Models register themselves by name (@register_model in their module); importing this package
imports every module in it, so a new model is one module here and one TEMPLATE config."""
import importlib
import pkgutil

from sertk.models.registry import MODELS, build_model, input_kind, model_args, register_model

__all__ = ["MODELS", "build_model", "input_kind", "model_args", "register_model"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
