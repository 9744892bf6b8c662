"""The command line: every command on a small workspace, JSON documents, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app

runner = CliRunner()


@pytest.fixture
def location(digits_workspace: cl.Workspace) -> str:
    return digits_workspace.location


def test_init_creates_a_workspace(tmp_path) -> None:
    result = runner.invoke(app, ["init", "--workspace", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "compresslens.db").is_file()


def test_ls_json_lists_models_with_their_efficiency(location: str) -> None:
    result = runner.invoke(app, ["ls", "--json", "--workspace", location])
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["models"]
    assert [m["name"] for m in models] == ["mlp"]
    assert models[0]["efficiency"]["parameters"] == 2410


def test_evaluate_then_show_json_reports_accuracy(location: str) -> None:
    result = runner.invoke(
        app, ["evaluate", "mlp", "--dataset", "digits", "--no-latency", "--workspace", location]
    )
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.stdout
    shown = json.loads(runner.invoke(app, ["show", "mlp", "--json", "-w", location]).stdout)
    assert shown["model"]["name"] == "mlp"
    assert shown["lineage"] == [{"id": shown["model"]["id"], "name": "mlp"}]
    (evaluation,) = shown["evaluations"]
    assert evaluation["dataset_name"] == "digits"
    assert 0.5 < evaluation["metrics"]["accuracy"] <= 1.0


def test_show_says_how_latency_was_measured(location: str) -> None:
    result = runner.invoke(app, ["evaluate", "mlp", "-d", "digits", "-w", location])
    assert result.exit_code == 0, result.output
    text = runner.invoke(app, ["show", "mlp", "-w", location], env={"COLUMNS": "200"}).stdout
    assert "latency on 1 thread" in text and "under a 5 s budget" in text
    assert "batch 1:" in text and "batch 64:" in text and "20 timed blocks" in text
    shown = json.loads(runner.invoke(app, ["show", "mlp", "--json", "-w", location]).stdout)
    latency = shown["model"]["efficiency"]["latency"]
    assert latency["budget_s"] == 5.0 and latency["budget_limited"] is False
    assert latency["batches"]["64"]["measurements"] == 20


def test_ls_table_shows_accuracy_and_size(location: str) -> None:
    runner.invoke(app, ["evaluate", "mlp", "-d", "digits", "--no-latency", "-w", location])
    result = runner.invoke(app, ["ls", "-w", location], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "mlp" in result.stdout and "accuracy on digits" in result.stdout
    assert "KB" in result.stdout


def test_the_workspace_can_come_from_the_environment(location: str) -> None:
    result = runner.invoke(app, ["ls", "--json"], env={"COMPRESSLENS_WORKSPACE": location})
    assert json.loads(result.stdout)["models"][0]["name"] == "mlp"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["show", "no-such-model"], "no model"),
        (["evaluate", "mlp", "--dataset", "nope"], "no dataset"),
    ],
)
def test_errors_are_one_clear_line_and_exit_code_1(
    location: str, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, [*arguments, "--workspace", location])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_a_missing_workspace_is_reported(tmp_path) -> None:
    result = runner.invoke(app, ["ls", "--workspace", str(tmp_path / "absent")])
    assert result.exit_code == 1 and "no workspace" in result.output


def test_a_database_url_keeps_its_files_in_compresslens_artifacts(
    pg_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI opens a PostgreSQL workspace when $COMPRESSLENS_ARTIFACTS names the files."""
    monkeypatch.delenv("COMPRESSLENS_ARTIFACTS", raising=False)
    missing = runner.invoke(app, ["ls", "--json", "--workspace", pg_url])
    assert missing.exit_code != 0
    assert "COMPRESSLENS_ARTIFACTS" in missing.output
    monkeypatch.setenv("COMPRESSLENS_ARTIFACTS", str(tmp_path / "files"))
    assert runner.invoke(app, ["init", "--workspace", pg_url]).exit_code == 0
    listed = runner.invoke(app, ["ls", "--json", "--workspace", pg_url])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["models"] == []
