"""Bad input on the command line: one clear line, exit code 1, no traceback, nothing changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_runner import fails, invoke, succeeds

import compresslens as cl
from workspace_hash import workspace_hash


@pytest.fixture
def folder(tmp_path: Path) -> str:
    """A workspace with dataset "abc" and two logged models, "[/]" and "base", with outputs."""
    ws = cl.Workspace(tmp_path / "ws")
    labels = np.repeat([0, 1, 2], 4)
    ws.add_dataset("abc", np.zeros((12, 4), dtype=np.float32), labels, class_names="abc")
    logits = np.eye(3, dtype=np.float32)[labels]
    ws.log_model("base", outputs={"abc": logits})
    ws.log_model("[/]", parents=["base"], operation={"name": "x"}, outputs={"abc": logits[::-1]})
    ws.close()
    return str(tmp_path / "ws")


def test_ls_on_an_empty_folder_refuses_and_creates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("ls", "datasets"):
        assert "compresslens init" in fails(command, "-w", str(empty))
    assert list(empty.iterdir()) == []


def test_ls_on_a_missing_folder_refuses_and_creates_nothing(tmp_path: Path) -> None:
    assert "no workspace" in fails("ls", "-w", str(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()


def test_init_then_ls_lists_an_empty_workspace(tmp_path: Path) -> None:
    succeeds("init", "-w", str(tmp_path / "new"))
    assert "0 models" in succeeds("ls", "-w", str(tmp_path / "new"))


def test_init_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "not a folder" in fails("init", "-w", str(tmp_path / "file" / "ws"))
    assert "not a folder" in fails("init", "-w", str(tmp_path / "file"))
    assert (tmp_path / "file").read_text() == "x"


def test_a_garbage_database_is_named_and_left_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    garbage = b"\x00\xffnot sqlite" * 500
    (folder / "compresslens.db").write_bytes(garbage)
    for command in ("ls", "init"):
        assert "not a compresslens database" in fails(command, "-w", str(folder))
    assert (folder / "compresslens.db").read_bytes() == garbage
    assert [p.name for p in folder.iterdir()] == ["compresslens.db"]


def test_a_binary_recipe_is_refused(tmp_path: Path, folder: str) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_bytes(bytes(range(256)))
    before = workspace_hash(folder)
    assert "not a YAML recipe" in fails("run", str(recipe), "-w", folder)
    assert workspace_hash(folder) == before


def test_a_recipe_seed_follows_the_api_seed_rule(tmp_path: Path, folder: str) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "base:\n  model: base\nstages:\n  - {name: p, op: prune.magnitude, "
        "grid: {amount: [0.5]}, seeds: [-5]}\n"
    )
    assert "0 ≤ seed < 2**63" in fails("run", str(recipe), "-w", folder)


def test_export_to_an_unwritable_path_is_refused(tmp_path: Path, folder: str) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "table.csv"
    message = fails("compare", "base", "[/]", "-d", "abc", "-w", folder, "--export", str(target))
    assert "cannot write" in message and "table.csv" in message


def test_names_with_markup_are_printed_as_they_are(folder: str) -> None:
    assert "[/]" in succeeds("ls", "-w", folder)
    assert "did you mean '[/]'" in fails("show", "[/", "-w", folder)
    output = succeeds("compare", "base", "[/]", "-d", "abc", "-w", folder)
    assert "[/] vs base" in output or "base" in output


def test_an_error_that_looks_like_markup_is_printed_whole(folder: str) -> None:
    message = fails("show", "[bold]nothing[/bold]", "-w", folder)
    assert "[bold]nothing[/bold]" in message


def test_a_seed_out_of_range_is_refused(folder: str) -> None:
    before = workspace_hash(folder)
    message = fails(
        "compress",
        "base",
        "prune.magnitude",
        "-p",
        "amount=0.5",
        "--seed",
        str(2**70),
        "-w",
        folder,
    )
    assert "2**63" in message
    assert workspace_hash(folder) == before


@pytest.mark.parametrize("name", ["", "x" * 201, "a\x01b"])
def test_a_bad_model_name_is_refused(folder: str, name: str) -> None:
    before = workspace_hash(folder)
    result = invoke(
        "compress", "base", "prune.magnitude", "-p", "amount=0.5", "--name", name, "-w", folder
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "name" in result.output
    assert workspace_hash(folder) == before


def test_a_key_of_50001_characters_is_not_found_in_one_short_line(folder: str) -> None:
    message = fails("show", "x" * 50_001, "-w", folder)
    assert "no model" in message and len(message) < 300


def test_dataset_names_and_folders_with_markup_are_printed_as_they_are(tmp_path: Path) -> None:
    location = str(tmp_path / "[bold]ws")
    assert "[bold]ws" in succeeds("init", "-w", location)
    ws = cl.Workspace(location)
    ws.add_dataset("[/]", np.zeros((2, 4), dtype=np.float32), [0, 1])
    ws.close()
    assert "[/]" in succeeds("datasets", "-w", location)


@pytest.mark.parametrize(
    "text",
    [
        "base: {model: base, seeds: 1000000000000}\n",
        "base: {model: base}\nstages:\n  - {name: p, op: prune.magnitude, grid: "
        "{amount: ["
        + ", ".join(["0.5"] * 1000)
        + "], scope: ["
        + ", ".join(["local"] * 1000)
        + "]}}\n",
    ],
    ids=["a-trillion-seeds", "a-million-grid-points"],
)
def test_a_recipe_too_large_to_plan_is_refused_at_once(
    tmp_path: Path, folder: str, text: str
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    assert "more than a sweep holds" in fails("run", str(recipe), "-w", folder)
