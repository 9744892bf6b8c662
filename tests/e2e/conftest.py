"""Shared e2e fixtures: the real demo workspace, served, and one chromium pass over every view.

The demo workspace is built once into build/e2e-demo-workspace (or $E2E_DEMO_WORKSPACE) with
`compresslens demo --no-serve`; a rerun finds every model cached. That includes the LM part
with the demo LM's full 400 training steps (no smaller --lm-steps: on idle 2 cores the LM part
adds about 3 minutes to a fresh build, ~13 on busy shared cores, nothing to a cached one).
Each view's test file (test_view_*.py) reads `view_report(demo_report, name)` — what the
browser showed — and checks those numbers against the Python API on the same workspace.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from e2e_harness import (
    CHROMIUM,
    FASHION_MNIST,
    PLAYWRIGHT,
    REPO,
    Server,
    compresslens_command,
    drive,
)

import compresslens as cl


@pytest.fixture(scope="session")
def demo_workspace_path() -> Path:
    """The real demo workspace (Fashion-MNIST, 69 models; the demo LM and its sweep, 9 more),
    built once and reused."""
    if not FASHION_MNIST.exists():
        pytest.skip("Fashion-MNIST is not installed (make data)")
    path = Path(os.environ.get("E2E_DEMO_WORKSPACE", REPO / "build" / "e2e-demo-workspace"))
    subprocess.run(
        [*compresslens_command(), "demo", "--no-serve", "--workspace", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return path


@pytest.fixture(scope="session")
def demo_ws(demo_workspace_path: Path) -> cl.Workspace:
    return cl.Workspace(demo_workspace_path)


@pytest.fixture(scope="session")
def demo_report(demo_workspace_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One chromium pass over every view of the served demo workspace."""
    if not CHROMIUM.exists() or not PLAYWRIGHT.is_dir():
        pytest.skip("chromium or playwright-core is missing (make browser)")
    screenshots = (
        Path(os.environ.get("E2E_SCREENSHOTS", REPO / "build" / "e2e-screenshots")) / "demo"
    )
    log = tmp_path_factory.mktemp("demo-server") / "server.log"
    with Server(demo_workspace_path, log) as server:
        report = drive(server.url, screenshots, views=os.environ.get("E2E_ONLY_VIEWS", "all"))
    report["screenshot_dir"] = str(screenshots)
    report["server_log"] = log.read_text()
    return report
