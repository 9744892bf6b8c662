"""The first thing a pool worker runs: bind its life to the executor's, then set up.

Light on purpose (no torch): the worker imports this module to unpickle its initializer, so
the window in which a killed executor could leave it running is the interpreter's start-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from compresslens.lifetime import die_with_parent


def start_pool_worker(
    parent: int, location: str, artifacts: str, threads: int, plugins: Sequence[str]
) -> None:
    """Pool initializer: die with `parent` (the executor's pid), then open the workspace."""
    die_with_parent(parent)
    from compresslens.run.worker import init_worker

    init_worker(parent, location, artifacts, threads, plugins)
