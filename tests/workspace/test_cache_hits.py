"""A cache hit checks the cached model's files: a model whose weights were deleted or
changed on disk is re-made and its file rewritten, or refused with a clear error; never
returned as fine. The sweep executor does not count such a node as cached."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

import compresslens as cl
from compresslens.errors import CorruptArtifactError
from compresslens.run import load_recipe, run_recipe
from compresslens.store.schema import Artifact, Model
from digits_recipes import pruning_recipe

RECIPE = pruning_recipe("tiny", [0.5])


def weights_of(ws: cl.Workspace, model: str) -> str:
    return ws.store.get_model(model).weights_artifact


def weights_path(ws: cl.Workspace, model: str) -> Path:
    return ws.store.artifacts.path_of(weights_of(ws, model))


@pytest.mark.parametrize("damage", ["deleted", "changed"])
def test_a_cached_child_with_damaged_weights_is_remade(
    digits_workspace: cl.Workspace, damage: str
) -> None:
    ws = digits_workspace
    child = ws.compress("mlp", "prune.magnitude", amount=0.5)
    path = weights_path(ws, child.id)
    good = path.read_bytes()
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(good[:-8] + b"\0" * 8)
    again = ws.compress("mlp", "prune.magnitude", amount=0.5)
    assert again.id == child.id and weights_path(ws, child.id) == path
    assert path.read_bytes() == good
    ws.load_model(again)  # rebuilds: the weights verify


def test_damaged_weights_of_an_added_model_are_rewritten_by_adding_it_again(
    digits_workspace: cl.Workspace, trained_mlp
) -> None:  # type: ignore[no-untyped-def]
    ws = digits_workspace
    path = weights_path(ws, "mlp")
    good = path.read_bytes()
    path.unlink()
    ws.add_model(trained_mlp, name="mlp", factory="factories:digits_mlp")
    assert path.read_bytes() == good


def test_a_broken_cached_model_that_cannot_be_remade_identically_is_refused(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    child = ws.compress("mlp", "prune.magnitude", amount=0.5)
    with ws.store.db.transaction() as session:  # the row names weights nobody can make again
        session.add(Artifact(sha256="ab" * 32, kind="weights", size_bytes=3))
        session.flush()
        session.execute(
            update(Model).where(Model.id == child.id).values(weights_artifact="ab" * 32)
        )
    with pytest.raises(CorruptArtifactError, match="re-made"):
        ws.compress("mlp", "prune.magnitude", amount=0.5)


def test_the_executor_does_not_count_a_damaged_node_as_cached(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(RECIPE)
    recipe = load_recipe(recipe_file)
    first = run_recipe(recipe, digits_workspace)
    assert first.counts["done"] == 2  # the base's evaluation and the child
    child = next(n.id for n in first.nodes if n.stage == "pruned")
    weights_path(digits_workspace, child).unlink()
    outputs = digits_workspace.store.evaluation_files(child, digits_workspace.dataset("digits").id)
    digits_workspace.store.artifacts.path_of(outputs.outputs).unlink()
    again = run_recipe(recipe, digits_workspace)
    assert again.counts == {"done": 1, "cached": 1, "failed": 0, "skipped": 0}
    assert digits_workspace.store.artifacts.verify(weights_of(digits_workspace, child))
    digits_workspace.outputs(child, "digits")  # its evaluation was run again
    assert run_recipe(recipe, digits_workspace).counts["cached"] == 2
