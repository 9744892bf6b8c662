"""`compresslens ls` fits the terminal: names whole on one line, the useful columns first."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app

runner = CliRunner()


@pytest.fixture
def location(digits_workspace: cl.Workspace) -> str:
    """Three models whose generated names are long, all evaluated on digits."""
    ws = digits_workspace
    for amount in (0.5, 0.8):
        ws.compress("mlp", "prune.magnitude", amount=amount, scope="global")
    ws.compress("mlp", "prune.random", amount=0.3)
    for info in ws.models():
        ws.evaluate(info.id, "digits", latency=False)
    return ws.location


def ls(location: str, columns: int, *options: str) -> list[str]:
    result = runner.invoke(app, ["ls", "-w", location, *options], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("columns", [80, 200])
def test_every_name_appears_whole_on_one_line_and_no_line_is_wider_than_the_terminal(
    digits_workspace: cl.Workspace, location: str, columns: int
) -> None:
    lines = ls(location, columns)
    names = [m.name for m in digits_workspace.models()]
    assert max(len(name) for name in names) > 40  # e.g. prune.magnitude(amount=0.5,scope=…)#…
    for name in names:
        assert any(name in line for line in lines), name
    assert max(len(line) for line in lines) <= columns
    assert "…" not in "".join(lines)


def test_at_80_columns_accuracy_and_compressed_size_stay(location: str) -> None:
    text = "\n".join(ls(location, 80))
    assert "accuracy" in text and "compressed" in text and "KB" in text and "%" in text


def test_columns_that_give_way_are_named_with_the_way_to_see_them(location: str) -> None:
    text = " ".join(" ".join(ls(location, 80)).split())
    assert "hidden" in text and "--wide" in text
    assert "hidden" not in " ".join(ls(location, 200))


def test_wide_shows_every_column_and_keeps_names_whole(
    digits_workspace: cl.Workspace, location: str
) -> None:
    default = "\n".join(ls(location, 200))
    assert "MACs" not in default and "nonzero" not in default
    lines = ls(location, 80, "--wide")
    text = "\n".join(lines)
    for header in ("id", "MACs", "nonzero", "dense", "latency", "operation"):
        assert header in text
    for name in [m.name for m in digits_workspace.models()]:
        assert any(name in line for line in lines), name
