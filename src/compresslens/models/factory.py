"""Building a root model from a factory string: `package.module:function` + JSON kwargs.

Only trusted modules are imported (see `compresslens.models.trust`): a factory string read
from a workspace is data, and must not run code the user never chose.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from compresslens.errors import FactoryError, UntrustedCodeError
from compresslens.models.trust import (
    check_module_name,
    check_trusted,
    covers,
    is_trusted,
    remember,
)


def split_factory(factory: str) -> tuple[str, str]:
    """'package.module:name' -> ('package.module', 'name'), or an error that shows the form."""
    module_name, sep, attribute = factory.partition(":")
    if not sep or not module_name or not attribute:
        raise FactoryError(
            f"factory {factory!r} must look like 'package.module:function' "
            "(e.g. 'compresslens.models.zoo:small_cnn')"
        )
    if not attribute.isidentifier():
        raise FactoryError(
            f"factory {factory!r} must name a class or function of its module directly "
            f"('{module_name}:Name'), not {attribute!r}: nothing is looked up beyond the module"
        )
    return module_name, attribute


def resolve_factory(factory: str, model_name: str | None = None) -> Callable[..., nn.Module]:
    """Import the callable a factory string names, with an error that says which part failed.

    The module must be trusted before it is imported (`compresslens.models.trust`), and the
    name must be an nn.Module class or a function defined there: never an arbitrary callable
    such as `os.system` that a trusted module happens to import.
    """
    module_name, attribute = split_factory(factory)
    owner = f" of model {model_name!r}" if model_name else ""
    check_trusted(module_name, f"the factory {factory!r}{owner}")
    refuse_builtin_non_factory(factory, module_name)
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
    if not hasattr(module, attribute):
        raise FactoryError(f"module {module_name!r} has no attribute {attribute!r}")
    target = getattr(module, attribute)
    if not is_model_builder(target, module_name):
        raise FactoryError(
            f"factory {factory!r} is {describe(target)}, not a torch.nn.Module class or a "
            f"function defined in {module_name!r}; only those build models"
        )
    return target


# compresslens's own modules are trusted to import, but only these build models: its other
# functions write files or change the trust file, and a workspace must not call them
BUILTIN_FACTORY_MODULES = ("compresslens.models.zoo", "compresslens.models.hf")


def refuse_builtin_non_factory(factory: str, module_name: str) -> None:
    builtin = covers("compresslens", module_name)
    if builtin and not any(covers(name, module_name) for name in BUILTIN_FACTORY_MODULES):
        raise UntrustedCodeError(
            f"factory {factory!r}: compresslens builds models only from "
            f"{' and '.join(BUILTIN_FACTORY_MODULES)}, not from {module_name!r}"
        )


def is_model_builder(target: Any, module_name: str) -> bool:
    """An nn.Module class, or a plain Python function defined in the module (or a submodule)."""
    if inspect.isclass(target):
        return issubclass(target, nn.Module)
    defined_in = getattr(target, "__module__", None) or ""
    return inspect.isfunction(target) and covers(module_name, defined_in)


def describe(target: Any) -> str:
    if inspect.isfunction(target):
        return f"a function of module {target.__module__!r}"
    if inspect.isclass(target):
        return f"the class {target.__qualname__}"
    return f"a {type(target).__name__}"


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


def trust_factory(factory: str) -> None:
    """The user registers a model from `factory` in this environment: trust its module from
    now on (recorded in the trust file), so later sessions and workers rebuild it."""
    refuse_main_module_factory(factory)
    module_name = split_factory(factory)[0]
    check_module_name(module_name)
    if is_trusted(module_name):
        return
    try:  # a typo must not become a trusted name (finding a submodule imports its package)
        found = importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise FactoryError(
            f"cannot import {module_name!r} of factory {factory!r}: no such module (install its "
            "package, or put its folder on sys.path: on the command line `compresslens --path "
            "DIR` or $COMPRESSLENS_PATH)"
        )
    remember(module_name)


def build_from_factory(
    factory: str, kwargs: Mapping[str, Any] | None = None, model_name: str | None = None
) -> nn.Module:
    """Call the factory (of a trusted module); the result must be an nn.Module."""
    function = resolve_factory(factory, model_name)
    try:
        model = function(**dict(kwargs or {}))
    except Exception as exc:
        raise FactoryError(f"factory {factory!r} failed with {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise FactoryError(
            f"factory {factory!r} returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model
