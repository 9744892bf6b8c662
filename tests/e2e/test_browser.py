"""End to end: `compresslens serve` on a small workspace, driven by Debian's chromium.

The browser is steered by `drive.mjs` through playwright-core (installed by `npm ci` in this
folder; browsers are never downloaded). Screenshots go to $E2E_SCREENSHOTS, else
build/e2e-screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import REPO, Server, drive, needs_browser

import compresslens as cl

pytestmark = needs_browser


@pytest.fixture
def served(digits_workspace: cl.Workspace, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The digits MLP and a pruned child, evaluated, served on a free loopback port."""
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="mlp-pruned-50")
    for name in ("mlp", "mlp-pruned-50"):
        ws.evaluate(name, "digits", latency=False)
    names = [m.name for m in ws.models()]
    with Server(Path(ws.location), tmp_path / "server.log") as server:
        yield server.url, names


def test_the_page_shows_every_model_in_chromium(served: tuple[str, list[str]]) -> None:
    url, names = served
    screenshots = Path(os.environ.get("E2E_SCREENSHOTS", REPO / "build" / "e2e-screenshots"))
    report = drive(url, screenshots, timeout=120)
    assert report["returncode"] == 0, f"{report['stderr']}\n{report['checks']}"
    assert [c["name"] for c in report["checks"] if not c["ok"]] == []
    assert "no console errors" in [c["name"] for c in report["checks"]]
    assert (screenshots / "01-loaded.png").stat().st_size > 0
    assert set(names) == {"mlp", "mlp-pruned-50"}


def test_the_demo_workspace_loads_with_every_model_and_no_console_error(demo_report: dict) -> None:
    """The whole pass over the demo workspace: every model shown, no console errors."""
    base_checks = [c for c in demo_report["checks"] if "view" not in c]
    assert [c for c in base_checks if not c["ok"]] == [], demo_report["stderr"]
    assert {"every model is shown", "no console errors"} <= {c["name"] for c in base_checks}
