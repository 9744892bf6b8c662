"""`compresslens trust add|rm|ls`: the modules a workspace's factories and recipes may import.

A workspace or recipe from someone else names code; only the modules listed here (plus
compresslens's own, $COMPRESSLENS_TRUST and `--trust`) are ever imported. Torch-free.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from compresslens.cli.app import JsonOption, app, fail, stdout
from compresslens.errors import CompressLensError

trust_app = typer.Typer(
    help=(
        "The modules factories and recipe plugins may import (a workspace or recipe from "
        "elsewhere runs no other code)."
    ),
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")

ModulesArgument = Annotated[
    list[str], typer.Argument(metavar="MODULE...", help="Dotted module names, e.g. my_models.")
]


@trust_app.command("add")
def trust_add(modules: ModulesArgument) -> None:
    """Trust modules (and their submodules) for this user, from now on."""
    from compresslens.models.trust import trust, trust_file

    try:
        added = trust(modules)
    except (CompressLensError, OSError) as exc:
        fail(exc)
    kept = [module for module in modules if module not in added]
    for module in added:
        stdout().print(f"trusted {module}", markup=False, highlight=False)
    for module in dict.fromkeys(kept):
        stdout().print(f"{module} was already trusted", markup=False, highlight=False)
    stdout().print(f"trust file: {trust_file()}", markup=False, highlight=False)


@trust_app.command("rm")
def trust_rm(modules: ModulesArgument) -> None:
    """Stop trusting modules the trust file lists (compresslens's own stay trusted)."""
    from compresslens.models.trust import ALWAYS_TRUSTED, trust_file, untrust

    try:
        removed = untrust(modules)
    except (CompressLensError, OSError) as exc:
        fail(exc)
    for module in removed:
        stdout().print(f"no longer trusted: {module}", markup=False, highlight=False)
    absent = [module for module in modules if module not in removed]
    if absent:
        always = [module for module in absent if module in ALWAYS_TRUSTED]
        why = f" ({', '.join(always)} is always trusted)" if always else ""
        fail(CompressLensError(f"the trust file {trust_file()} does not list {absent}{why}"))


@trust_app.command("ls")
def trust_ls(as_json: JsonOption = False) -> None:
    """The trusted modules and where each is trusted from (built-in, environment, file).

    --json: {"trust_file": path, "modules": [{"module": name, "source": "built-in" |
    "environment" | "file"}]}.
    """
    from compresslens.models.trust import (
        ALWAYS_TRUSTED,
        modules_from_environment,
        modules_from_file,
        trust_file,
    )

    try:
        sources = {
            "built-in": list(ALWAYS_TRUSTED),
            "environment": modules_from_environment(),
            "file": modules_from_file(),
        }
    except CompressLensError as exc:
        fail(exc)
    rows = [
        {"module": module, "source": source}
        for source, modules in sources.items()
        for module in modules
    ]
    if as_json:
        print(json.dumps({"trust_file": str(trust_file()), "modules": rows}, indent=2))
        return
    for row in rows:
        stdout().print(f"{row['module']}  ({row['source']})", markup=False, highlight=False)
    stdout().print(f"trust file: {trust_file()}", markup=False, highlight=False)
