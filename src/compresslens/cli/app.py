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
) -> None:
    """Make the user's modules importable; hide torch.ao / torchao noise a user cannot act on."""
    from compresslens.quiet import quiet_library_noise

    prepend_to_sys_path(user_module_folders(map(str, path or []), os.environ.get(PATH_ENV)))
    quiet_library_noise()


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
    """A database URL keeps its files in a folder of their own, named by the environment."""
    return os.environ.get("COMPRESSLENS_ARTIFACTS") or None


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
