"""`compresslens verdict` gates a pipeline: exit 0 only when a drop beyond δ is excluded."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import fails, invoke
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.server.app import create_app
from verdict_workspaces import planted_regressions

TOLERANCES = ("--max-drop", "5", "--max-class-drop", "2")


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The planted regressions (see verdict_workspaces), read only by every test here."""
    ws = cl.Workspace(tmp_path_factory.mktemp("verdict-cli") / "ws")
    planted_regressions(ws)
    ws.close()
    return ws.location


def test_a_model_within_tolerance_exits_0_with_the_evidence(location: str) -> None:
    result = invoke("verdict", "base", "ok", *TOLERANCES, "-w", location)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("EQUIVALENT ok vs base on four")
    assert "flips: 10 lost, 0 gained; McNemar exact p = 0.00195" in result.stdout
    assert "negative flip rate 0.12%" in result.stdout


@pytest.mark.parametrize(("model", "call"), [("edge", "INCONCLUSIVE"), ("lossy", "REGRESSION")])
def test_a_drop_not_excluded_exits_1(location: str, model: str, call: str) -> None:
    result = invoke("verdict", "base", model, *TOLERANCES, "-w", location)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(call)
    class_c = next(line for line in result.stdout.splitlines() if line.startswith("c "))
    assert class_c.split()[-1] == call.lower()


def test_json_is_the_python_record_and_keeps_the_exit_code(location: str) -> None:
    result = invoke("verdict", "base", "lossy", *TOLERANCES, "--json", "-w", location)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    ws = cl.Workspace(location)
    try:
        expected = ws.verdict("base", "lossy", max_drop=5, max_class_drop=2).to_dict()
    finally:
        ws.close()
    assert document == json.loads(json.dumps(expected))
    assert document["verdict"] == "regression"
    assert document["passed"] is False


def test_bad_input_is_refused_without_a_pass(location: str) -> None:
    negative = invoke("verdict", "base", "ok", "--max-drop", "-1", "-w", location)
    assert negative.exit_code == 2  # typer's usage error
    assert "greater than or equal to 0" in negative.output
    assert "no model" in fails("verdict", "base", "nothing", "-w", location).lower()


def test_the_route_answers_the_same_record(location: str) -> None:
    ws = cl.Workspace(location)
    try:
        body = TestClient(create_app(ws)).get(
            "/api/verdict?base=base&model=lossy&max_drop=5&max_class_drop=2"
        )
        expected = ws.verdict("base", "lossy", max_drop=5, max_class_drop=2).to_dict()
    finally:
        ws.close()
    assert body.status_code == 200
    assert body.json() == json.loads(json.dumps(expected))
    assert np.isclose(body.json()["rows"][2]["difference_pts"], -5.0)
