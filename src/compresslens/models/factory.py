"""Building a root model from a factory string: `package.module:function` + JSON kwargs."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from compresslens.errors import FactoryError


def resolve_factory(factory: str) -> Callable[..., nn.Module]:
    """Import the callable a factory string names, with an error that says which part failed."""
    module_name, sep, attribute = factory.partition(":")
    if not sep or not module_name or not attribute:
        raise FactoryError(
            f"factory {factory!r} must look like 'package.module:function' "
            "(e.g. 'compresslens.models.zoo:small_cnn')"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        name = getattr(exc, "name", None) or "?"
        missing = module_name == name or module_name.startswith(f"{name}.")
        hint = (
            " (install its package, or put its folder on sys.path: on the command line "
            "`compresslens --path DIR` or $COMPRESSLENS_PATH)"
            if missing
            else ""
        )
        raise FactoryError(
            f"cannot import {module_name!r} of factory {factory!r}: {exc}{hint}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise FactoryError(f"module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise FactoryError(f"factory {factory!r} is not callable")
    return target


# the running script's module: `python train.py` runs as __main__ (spawned workers: __mp_main__)
SCRIPT_MODULES = frozenset({"__main__", "__mp_main__"})


def refuse_main_module_factory(factory: str) -> None:
    """A factory in the running script works now and never again, so refuse it up front."""
    module_name = factory.partition(":")[0]
    if module_name in SCRIPT_MODULES:
        raise FactoryError(
            f"factory {factory!r} lives in the running script, whose module cannot be imported "
            "again to rebuild the model (by `load_model`, a sweep worker, `compresslens serve` "
            "or a later session); move it into a module (e.g. my_models.py) and name it "
            "'my_models:Name', importable where the workspace is used: an installed package, "
            "the current folder, a folder in COMPRESSLENS_PATH, or `compresslens --path DIR`"
        )


def check_json_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Factory kwargs are stored as JSON; refuse anything that would not round-trip."""
    try:
        encoded = json.dumps(dict(kwargs), sort_keys=True)
    except TypeError as exc:
        raise FactoryError(f"factory_kwargs must be JSON values: {exc}") from exc
    return json.loads(encoded)


def build_from_factory(factory: str, kwargs: Mapping[str, Any] | None = None) -> nn.Module:
    """Call the factory; the result must be an nn.Module."""
    function = resolve_factory(factory)
    try:
        model = function(**dict(kwargs or {}))
    except Exception as exc:
        raise FactoryError(f"factory {factory!r} failed with {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise FactoryError(
            f"factory {factory!r} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model
