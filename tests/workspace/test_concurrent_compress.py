"""`Workspace.compress` from several processes at once, on SQLite and PostgreSQL: the same
child converges to one row every caller gets, different children all land, and every
stored model's weights verify and rebuild afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import compresslens as cl
from concurrent_processes import run_together
from factories import MLP_FACTORY

WRITERS = 4


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
def test_processes_compressing_the_same_child_all_get_the_one_stored_model(
    shared: tuple[str, str],
) -> None:
    outcomes = run_together(compress_in_child, [(*shared, 0.5, None)] * WRITERS)
    assert [kind for kind, _ in outcomes] == ["ok"] * WRITERS, outcomes
    assert len({value for _, value in outcomes}) == 1
    ws = check_every_model(shared)
    try:
        assert len(ws.models()) == 2
        child = ws.model(outcomes[0][1][0])
        evaluated = ws.evaluate(child, "digits", latency=False)
        assert 0 <= evaluated.metrics["accuracy"] <= 1
    finally:
        ws.close()


@pytest.mark.slow
def test_processes_compressing_different_children_all_land(shared: tuple[str, str]) -> None:
    amounts = np.linspace(0.2, 0.8, WRITERS).round(2).tolist()
    outcomes = run_together(compress_in_child, [(*shared, a, None) for a in amounts])
    assert [kind for kind, _ in outcomes] == ["ok"] * WRITERS, outcomes
    ws = check_every_model(shared)
    try:
        assert {m.id for m in ws.models()} >= {value[0] for _, value in outcomes}
        assert len(ws.models()) == 1 + WRITERS
    finally:
        ws.close()


@pytest.mark.slow
def test_processes_giving_different_children_one_name_get_duplicate_name_errors(
    shared: tuple[str, str],
) -> None:
    amounts = np.linspace(0.2, 0.8, WRITERS).round(2).tolist()
    outcomes = run_together(compress_in_child, [(*shared, a, "contested") for a in amounts])
    kinds = [kind for kind, _ in outcomes]
    assert sorted(kinds) == ["DuplicateNameError"] * (WRITERS - 1) + ["ok"], outcomes
    ws = check_every_model(shared)
    try:
        winner = next(value for kind, value in outcomes if kind == "ok")
        assert ws.model("contested").id == winner[0]
    finally:
        ws.close()
