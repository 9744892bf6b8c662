"""Helpers of the e2e tests: serve a workspace on a free port, drive chromium over it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = HERE / "node_modules" / "playwright-core"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")

needs_browser = [
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


def compresslens_command() -> list[str]:
    executable = shutil.which("compresslens", path=str(Path(sys.executable).parent))
    return [executable] if executable else [sys.executable, "-m", "compresslens.cli.main"]


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


class Server:
    """`compresslens serve` on a free loopback port, stopped on exit."""

    def __init__(self, workspace: Path, log_path: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [*compresslens_command(), "serve", "--workspace", str(workspace), "--port", str(port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
        )

    def __enter__(self) -> Server:
        try:
            wait_until_answering(self.url + "api/models", self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.__exit__()
            pytest.fail(f"{exc}:\n{self.log_path.read_text()}")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def drive(url: str, screenshots: Path, views: str = "", timeout: int = 600) -> dict[str, Any]:
    """Run drive.mjs against `url`; it writes its JSON report to a file (a piped stdout is
    cut at 64 KiB when node exits)."""
    node = shutil.which("node")
    assert node, "node is needed to drive the browser"
    with tempfile.TemporaryDirectory(prefix="e2e-report-") as folder:
        written = Path(folder) / "report.json"
        result = subprocess.run(
            [node, str(HERE / "drive.mjs"), url],
            env={
                **os.environ,
                "E2E_SCREENSHOTS": str(screenshots),
                "E2E_VIEWS": views,
                "E2E_REPORT": str(written),
            },
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if not written.is_file():
            pytest.fail(f"drive.mjs wrote no report (exit {result.returncode}):\n{result.stderr}")
        report = json.loads(written.read_text())
    report["returncode"] = result.returncode
    report["stderr"] = result.stderr
    return report


def view_report(report: dict, name: str) -> dict:
    """The browser's record of one view, failing with its checks and error if it broke."""
    failed = [c for c in report["checks"] if c.get("view") == name and not c["ok"]]
    assert not failed, f"{failed}\n{report['viewErrors'].get(name, '')}"
    assert name in report["views"], f"the {name} view did not run"
    return report["views"][name]
