"""End to end: `compresslens serve` on a small workspace, driven by Debian's chromium.

The browser is steered by `drive.mjs` through playwright-core (installed by `npm ci` in this
folder; browsers are never downloaded). Screenshots go to $E2E_SCREENSHOTS, else
build/e2e-screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import compresslens as cl

HERE = Path(__file__).parent
REPO = HERE.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = HERE / "node_modules" / "playwright-core"

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"
    ),
    pytest.mark.skipif(
        not PLAYWRIGHT.is_dir(), reason="no playwright-core (npm ci --prefix tests/e2e)"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def served(digits_workspace: cl.Workspace, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The digits MLP and a pruned child, evaluated, served on a free loopback port."""
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="mlp-pruned-50")
    for name in ("mlp", "mlp-pruned-50"):
        ws.evaluate(name, "digits", latency=False)
    names = [m.name for m in ws.models()]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    executable = shutil.which("compresslens", path=str(Path(sys.executable).parent))
    command = [executable] if executable else [sys.executable, "-m", "compresslens.cli.main"]
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [*command, "serve", "--workspace", str(ws.location), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_until_answering(url + "api/models", process)
        yield url, names
    except (RuntimeError, TimeoutError) as exc:
        log.flush()
        pytest.fail(f"{exc}:\n{(tmp_path / 'server.log').read_text()}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_the_page_shows_every_model_in_chromium(served: tuple[str, list[str]]) -> None:
    url, names = served
    screenshots = Path(os.environ.get("E2E_SCREENSHOTS", REPO / "build" / "e2e-screenshots"))
    node = shutil.which("node")
    assert node, "node is needed to drive the browser"
    result = subprocess.run(
        [node, str(HERE / "drive.mjs"), url],
        env={**os.environ, "E2E_SCREENSHOTS": str(screenshots)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{result.stderr}\n{result.stdout}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [c["name"] for c in report["checks"] if not c["ok"]] == []
    assert "no console errors" in [c["name"] for c in report["checks"]]
    assert (screenshots / "01-loaded.png").stat().st_size > 0
    assert set(names) == {"mlp", "mlp-pruned-50"}
