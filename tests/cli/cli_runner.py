"""Running the `compresslens` app in-process the way the CLI tests check it."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from compresslens.cli.main import app

runner = CliRunner()


def invoke(*arguments: str, env: dict[str, str] | None = None) -> Result:
    """Run the app with a wide terminal (no wrapped tables), plus `env`."""
    return runner.invoke(app, list(arguments), env={"COLUMNS": "200", **(env or {})})


def succeeds(*arguments: str, env: dict[str, str] | None = None) -> str:
    result = invoke(*arguments, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*arguments: str, env: dict[str, str] | None = None) -> str:
    """A clean refusal: exit code 1, no traceback; the message with its line breaks undone."""
    result = invoke(*arguments, env=env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())
