"""`Workspace.compress` from several processes at once, on SQLite and PostgreSQL: the same
child converges to one row every caller gets, different children under one name leave one
stored and a DuplicateNameError for the other, and every stored model's weights verify and
rebuild afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import compresslens as cl
from concurrent_processes import run_together
from digits_recipes import pruning_recipe
from factories import MLP_FACTORY


def compress_in_child(
    location: str, artifacts: str, amount: float, name: str | None, *, prepare: bool,
    prepared: Any = None,
) -> Any:  # fmt: skip
    """Open the workspace (prepare: torch imported, base resolved), then compress."""
    if prepare:
        torch.set_num_threads(1)
        ws = cl.Workspace(location, artifacts=artifacts)
        ws.model("mlp")
        return ws
    try:
        info = prepared.compress("mlp", "prune.magnitude", amount=amount, name=name)
        return info.id, info.name
    finally:
        prepared.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp: torch.nn.Module,
) -> tuple[str, str]:
    """(location, artifacts) of a workspace holding the digits data and the trained MLP."""
    if request.param == "sqlite":
        where = (str(tmp_path / "ws"), str(tmp_path / "ws" / "artifacts"))
    else:
        where = (request.getfixturevalue("pg_url"), str(tmp_path / "artifacts"))
    ws = cl.Workspace(*where)
    inputs, labels = digits
    ws.add_dataset("digits", inputs[:200], labels[:200], class_names=[str(i) for i in range(10)])
    ws.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    ws.close()
    return where


def check_every_model(where: tuple[str, str]) -> cl.Workspace:
    """Every stored model's weights verify and rebuild; returns the open workspace."""
    ws = cl.Workspace(*where)
    for model in ws.store.list_models():
        assert ws.store.artifacts.verify(model.weights_artifact), model.name
        ws.load_model(model.id)
    return ws


@pytest.mark.slow
def test_processes_compressing_at_once_converge_land_or_get_duplicate_name_errors(
    shared: tuple[str, str],
) -> None:
    """Two processes make the same child, two make different children under one name."""
    jobs = [(*shared, 0.5, None), (*shared, 0.5, None), (*shared, 0.3, "x"), (*shared, 0.7, "x")]
    outcomes = run_together(compress_in_child, jobs)
    same, contested = outcomes[:2], outcomes[2:]
    assert [kind for kind, _ in same] == ["ok", "ok"], outcomes
    assert same[0][1] == same[1][1]  # both callers got the one stored model
    assert sorted(kind for kind, _ in contested) == ["DuplicateNameError", "ok"], outcomes
    ws = check_every_model(shared)
    try:
        winner = next(value for kind, value in contested if kind == "ok")
        assert ws.model("x").id == winner[0]
        assert sorted(m.id for m in ws.models()) == sorted(
            [ws.model("mlp").id, same[0][1][0], winner[0]]
        )
        evaluated = ws.evaluate(same[0][1][0], "digits", latency=False)
        assert 0 <= evaluated.metrics["accuracy"] <= 1
    finally:
        ws.close()


RECIPE = pruning_recipe("shared", [0.3, 0.5, 0.7])


def run_in_child(location: str, artifacts: str, recipe: str, *, prepare: bool,
                 prepared: Any = None) -> Any:  # fmt: skip
    """Open the workspace and load the recipe (prepare), then run the sweep in-process."""
    from compresslens.run import load_recipe, run_recipe

    if prepare:
        torch.set_num_threads(1)
        return cl.Workspace(location, artifacts=artifacts), load_recipe(recipe)
    ws, loaded = prepared
    try:
        return run_recipe(loaded, ws).counts
    finally:
        ws.close()


@pytest.mark.slow
def test_three_runs_of_one_recipe_at_once_leave_every_node_whole_and_cached(
    shared: tuple[str, str], tmp_path: Path
) -> None:
    """The issue's case: concurrent runs of one recipe deleted weights files, and a later
    run counted the broken models as cached."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    outcomes = run_together(run_in_child, [(*shared, str(recipe))] * 3)
    assert [kind for kind, _ in outcomes] == ["ok"] * 3, outcomes
    assert all(counts["failed"] == counts["skipped"] == 0 for _, counts in outcomes)
    ws = check_every_model(shared)
    try:
        assert len(ws.models()) == 4
        from compresslens.run import load_recipe, run_recipe

        again = run_recipe(load_recipe(recipe), ws)
        assert again.counts == {"done": 0, "cached": 4, "failed": 0, "skipped": 0}
    finally:
        ws.close()
