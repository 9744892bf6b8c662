"""The `compresslens` command: the Typer app with every command module registered."""

from __future__ import annotations

import sys

from compresslens.cli import workspace_commands  # noqa: F401  (first: its commands lead --help)
from compresslens.cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


from compresslens.cli import (  # noqa: E402, F401  (registers their commands)
    analysis_commands,
    attribution_commands,
    comparison_commands,
    creation_commands,
    generation_commands,
    maintenance_commands,
    token_commands,
    tradeoff_commands,
    trust_commands,
    verdict_commands,
    view_commands,
)

if __name__ == "__main__":  # python -m compresslens.cli.main
    main()
