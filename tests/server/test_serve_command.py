"""`compresslens serve` hands its host, token and job cap to the server (no socket opened)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app as cli_app
from compresslens.server import app as server_app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run_server(workspace: cl.Workspace, **kwargs: Any) -> None:
        seen.update(kwargs, location=workspace.location)

    monkeypatch.setattr(server_app, "run_server", fake_run_server)
    return seen


def test_serve_passes_token_and_job_cap(served: dict[str, Any], workspace: cl.Workspace) -> None:
    args = ["serve", "--workspace", str(workspace.location), "--host", "0.0.0.0"]
    result = CliRunner().invoke(cli_app, [*args, "--token", "T0k3n-T0k3n-T0k3n", "--max-jobs", "3"])
    assert result.exit_code == 0, result.output
    assert served["host"] == "0.0.0.0" and served["token"] == "T0k3n-T0k3n-T0k3n"
    assert served["max_jobs"] == 3


def test_serve_defaults_to_loopback_without_a_token(
    served: dict[str, Any], workspace: cl.Workspace
) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--workspace", str(workspace.location)])
    assert result.exit_code == 0, result.output
    assert (served["host"], served["token"], served["max_jobs"]) == ("127.0.0.1", None, 8)


def test_serve_refuses_a_job_cap_below_one(workspace: cl.Workspace) -> None:
    args = ["serve", "--workspace", str(workspace.location), "--max-jobs", "0"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code != 0


def test_serve_refuses_a_bad_token_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, workspace: cl.Workspace
) -> None:
    monkeypatch.setattr(server_app.uvicorn, "run", lambda *a, **kw: pytest.fail("served"))
    args = ["serve", "--workspace", str(workspace.location), "--host", "0.0.0.0"]
    result = CliRunner().invoke(cli_app, [*args, "--token", "abc"])
    assert result.exit_code == 1
    assert "16-512 characters" in result.output
