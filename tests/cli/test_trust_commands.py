"""`compresslens trust` and `--trust`: which modules a workspace or recipe may make us import;
a tampered workspace or an untrusted recipe plugin is refused with exit 1 and what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_runner import fails, succeeds

import compresslens as cl
from compresslens.errors import UntrustedCodeError
from compresslens.models import trust
from compresslens.run import parse_recipe
from tampered import system_command_workspace


@pytest.fixture
def fresh_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty trust file of this test's own and nothing in $COMPRESSLENS_TRUST."""
    monkeypatch.setenv(trust.CONFIG_ENV, str(tmp_path / "config"))
    monkeypatch.delenv(trust.TRUST_ENV, raising=False)
    return tmp_path / "config" / "trust.json"


def listed(*options: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    document = json.loads(succeeds(*options, "trust", "ls", "--json", env=env))
    return [(row["module"], row["source"]) for row in document["modules"]]


def test_trust_add_ls_rm_keep_the_users_trust_file(fresh_trust: Path) -> None:
    assert "trusted my_models" in succeeds("trust", "add", "my_models", "lab.nets")
    assert "my_models was already trusted" in succeeds("trust", "add", "my_models")
    assert json.loads(fresh_trust.read_text())["modules"] == ["my_models", "lab.nets"]
    document = json.loads(succeeds("trust", "ls", "--json"))
    assert document["trust_file"] == str(fresh_trust)
    assert listed() == [("compresslens", "built-in"), ("my_models", "file"), ("lab.nets", "file")]
    assert "no longer trusted: lab.nets" in succeeds("trust", "rm", "lab.nets")
    assert listed() == [("compresslens", "built-in"), ("my_models", "file")]


def test_trust_rm_of_a_module_not_listed_fails(fresh_trust: Path) -> None:
    assert "does not list ['compresslens'] (compresslens is always trusted)" in fails(
        "trust", "rm", "compresslens"
    )


@pytest.mark.parametrize("name", ["os;id", "../x", "a b"])
def test_trust_add_refuses_what_is_not_a_module_name(fresh_trust: Path, name: str) -> None:
    assert "is not a module name" in fails("trust", "add", name)
    assert not fresh_trust.exists()


def test_the_trust_option_and_the_environment_trust_for_one_run(fresh_trust: Path) -> None:
    env = {trust.TRUST_ENV: "from_env"}  # restored after the run, with what --trust adds
    rows = listed("--trust", "one", "--trust", "two.sub", env=env)
    assert rows == [
        ("compresslens", "built-in"),
        ("from_env", "environment"),
        ("one", "environment"),
        ("two.sub", "environment"),
    ]
    assert not fresh_trust.exists()
    assert "is not a module name" in fails("--trust", "x;y", "trust", "ls", env=env)


def test_layers_of_a_tampered_workspace_fail_without_running_its_command(
    fresh_trust: Path, pruned: cl.Workspace, tmp_path: Path
) -> None:
    sentinel = tmp_path / "owned.txt"
    folder = system_command_workspace(pruned, sentinel)
    message = fails("layers", "mlp", "mlp-70", "-d", "digits", "-w", str(folder))
    assert "the factory 'os:system' of model 'mlp' needs module 'os'" in message
    assert "compresslens trust add os" in message
    assert not sentinel.exists()


# a recipe plugin whose import leaves a file behind
LOUD_PLUGIN = "import pathlib\npathlib.Path({sentinel!r}).write_text('imported')\n"
RECIPE = """\
name: tiny
plugins: [loud_plugin_xyz]
datasets:
  digits: {}
base:
  factory: compresslens.models.zoo:mlp
  train: {dataset: digits, epochs: 1}
stages: []
"""


@pytest.fixture
def loud_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file loud_plugin_xyz (importable from tmp_path) writes when imported."""
    sentinel = tmp_path / "plugin-imported.txt"
    (tmp_path / "loud_plugin_xyz.py").write_text(LOUD_PLUGIN.format(sentinel=str(sentinel)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "loud_plugin_xyz", raising=False)
    return sentinel


def test_run_refuses_an_untrusted_plugin_before_importing_it(
    fresh_trust: Path, loud_plugin: Path, tmp_path: Path
) -> None:
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    message = fails("run", str(tmp_path / "recipe.yaml"), "-w", str(tmp_path / "ws"))
    assert "recipe.yaml:2: plugins[0]: the plugin 'loud_plugin_xyz' needs module" in message
    assert "compresslens trust add loud_plugin_xyz" in message
    assert not loud_plugin.exists() and "loud_plugin_xyz" not in sys.modules


def test_a_recipe_with_an_untrusted_base_factory_names_its_line(fresh_trust: Path) -> None:
    text = RECIPE.replace("[loud_plugin_xyz]", "[]").replace("compresslens.models.zoo", "os")
    with pytest.raises(UntrustedCodeError, match=r"<recipe>:6: base.factory: the factory 'os:mlp'"):
        parse_recipe(text)


def test_a_trusted_plugin_is_imported(
    fresh_trust: Path, loud_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(trust.TRUST_ENV, "loud_plugin_xyz")
    assert parse_recipe(RECIPE).plugins == ["loud_plugin_xyz"]
    assert loud_plugin.exists()


@pytest.mark.slow
def test_a_model_added_in_python_loads_in_a_fresh_cli_process(
    fresh_trust: Path, digits_workspace: cl.Workspace, tmp_path: Path
) -> None:
    """add_model records its factory's module in the trust file, which the next process reads."""
    (tmp_path / "my_nets_xyz.py").write_text(
        textwrap.dedent(
            """\
            from torch import nn

            def wide() -> nn.Module:
                return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import my_nets_xyz

        digits_workspace.add_model(my_nets_xyz.wide(), name="wide", factory="my_nets_xyz:wide")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_nets_xyz", None)
    assert "my_nets_xyz" in trust.modules_from_file()
    done = subprocess.run(
        [sys.executable, "-m", "compresslens.cli.main", "--path", str(tmp_path), "evaluate",
         "wide", "-d", "digits", "--no-latency", "-w", digits_workspace.location, "--json"],
        capture_output=True, text=True, env={**os.environ}, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 0 <= json.loads(done.stdout)["metrics"]["accuracy"] <= 1


def test_trust_commands_start_without_torch(fresh_trust: Path) -> None:
    from test_startup import imported_after, run_cli

    assert imported_after(run_cli("--trust", "my_models", "trust", "ls")) == set()
