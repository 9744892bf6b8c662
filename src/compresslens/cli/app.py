"""What every command module shares: the Typer app, the options, opening a workspace, errors.

Only typer and rich are imported here; commands import the facade inside their bodies, so
`compresslens --help` starts without torch (see tests/cli/test_startup.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from compresslens.cli.import_paths import PATH_ENV, prepend_to_sys_path, user_module_folders
from compresslens.errors import CompressLensError

if TYPE_CHECKING:
    from compresslens.workspace import Workspace
    from compresslens.workspace.catalog import WorkspaceCatalog

app = typer.Typer(
    help="Generate, track and compare neural-network compression experiments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
artifacts_option: str | None = None  # --artifacts of the command running now


@app.callback()
def _before_every_command(
    path: Annotated[
        list[Path] | None,
        typer.Option(
            "--path",
            "-P",
            exists=True,
            file_okay=False,
            metavar="DIR",
            help=(
                "Folder to import your own factory modules from (repeatable; "
                f"also ${PATH_ENV}, separated by '{os.pathsep}'). Give it before the command."
            ),
        ),
    ] = None,
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            metavar="FOLDER|URL",
            help=(
                "Where the workspace's files live: a folder or a URL such as "
                "s3://bucket/prefix (also $COMPRESSLENS_ARTIFACTS). Give it before the command."
            ),
        ),
    ] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            metavar="MODULE",
            help=(
                "Trust a module for this run: factories and recipe plugins may import it "
                "(repeatable; also $COMPRESSLENS_TRUST, comma-separated; for good: "
                "`compresslens trust add MODULE`). Give it before the command."
            ),
        ),
    ] = None,
) -> None:
    """Make the user's modules importable; hide torch.ao / torchao noise a user cannot act on."""
    from compresslens.quiet import quiet_library_noise

    global artifacts_option
    artifacts_option = artifacts
    prepend_to_sys_path(user_module_folders(map(str, path or []), os.environ.get(PATH_ENV)))
    trust_for_this_run(trust or [])
    quiet_library_noise()


def trust_for_this_run(modules: list[str]) -> None:
    """--trust joins $COMPRESSLENS_TRUST, so sweep workers (child processes) trust them too."""
    from compresslens.models.trust import TRUST_ENV, check_module_name

    if not modules:
        return
    try:
        named = [check_module_name(module) for module in modules]
    except CompressLensError as exc:
        fail(exc)
    before = [part for part in os.environ.get(TRUST_ENV, "").split(",") if part.strip()]
    os.environ[TRUST_ENV] = ",".join(dict.fromkeys([*before, *named]))


def stdout() -> Console:
    """A console made per call, so it reads the terminal width (COLUMNS) of that moment."""
    return Console()


DEFAULT_WORKSPACE = "demo-workspace"

WorkspaceOption = Annotated[
    str,
    typer.Option(
        "--workspace",
        "-w",
        envvar="COMPRESSLENS_WORKSPACE",
        help="Workspace folder or database URL ($COMPRESSLENS_WORKSPACE, else ./demo-workspace).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (documented, stable schema).")]


def open_workspace(location: str, must_exist: bool = True) -> Workspace:
    """The whole facade (imports torch): for commands that load, run or analyse models."""
    from compresslens.workspace import Workspace

    check_exists(location, must_exist)
    return Workspace(location, artifacts=artifacts_folder())


def open_catalog(location: str, must_exist: bool = True) -> WorkspaceCatalog:
    """The workspace's records only, without torch: for commands that list what is stored."""
    from compresslens.workspace.catalog import WorkspaceCatalog

    check_exists(location, must_exist)
    return WorkspaceCatalog(location, artifacts=artifacts_folder())


def check_exists(location: str, must_exist: bool) -> None:
    """Commands that read never create a workspace: a folder needs its database already."""
    from compresslens.store.database import is_database_url
    from compresslens.store.repository import DATABASE_FILE

    if not must_exist or is_database_url(location):
        return
    if not os.path.isdir(location):
        raise CompressLensError(
            f"no workspace at {location!r}: run `compresslens init -w {location}` or `make demo`"
        )
    if not os.path.isfile(os.path.join(location, DATABASE_FILE)):
        raise CompressLensError(
            f"no workspace in folder {location!r} (it has no {DATABASE_FILE}): "
            f"run `compresslens init -w {location}` to create one there"
        )


def artifacts_folder() -> str | None:
    """A database URL keeps its files in a folder or at a URL of their own (s3://bucket/prefix),
    named by --artifacts or the environment; a workspace folder may too."""
    return artifacts_option or os.environ.get("COMPRESSLENS_ARTIFACTS") or None


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """One rich progress bar per stage; the callback is (stage, done, total)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


def fail(error: Exception) -> None:
    """One red line, exit code 1; the message is text, never markup (names hold brackets)."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(str(error))}")
    raise typer.Exit(1)
