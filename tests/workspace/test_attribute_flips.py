"""`Workspace.attribute_flips` over stored models: a planted damaged layer is named first, the
result is stored once per parameters, bad settings fail before any model runs."""

from __future__ import annotations

import pytest
import torch

import compresslens as cl
from compresslens.analysis.flip_attribution import FlipAttributionError
from compresslens.errors import NotComputedError, NotFoundError
from planted_flips import DAMAGED_LAYER, planted_workspace


@pytest.fixture(scope="module")
def damaged_workspace(
    tmp_path_factory: pytest.TempPathFactory,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp_state: dict[str, torch.Tensor],
) -> cl.Workspace:
    """One planted workspace for the whole module (tests/planted_flips.py)."""
    ws = planted_workspace(tmp_path_factory.mktemp("attribution") / "ws", digits, trained_mlp_state)
    yield ws
    ws.close()


def test_the_damaged_layer_is_named_first(damaged_workspace: cl.Workspace) -> None:
    result = damaged_workspace.attribute_flips("mlp", "mlp-damaged")
    comparison = damaged_workspace.compare("mlp", "mlp-damaged")
    assert result.flips > 20
    assert result.rows[0].module == DAMAGED_LAYER and result.rows[0].undone_share == 1.0
    assert result.greedy_set == [DAMAGED_LAYER] and result.reached
    assert result.context["dataset"] == "digits" and result.context["model"] == "mlp-damaged"
    # the flips are the comparison's correct→incorrect instances
    assert result.flips == len(comparison.flips()["correct_to_incorrect"])


def test_the_result_is_stored_once_per_parameters(damaged_workspace: cl.Workspace) -> None:
    ws = damaged_workspace
    first = ws.attribute_flips("mlp", "mlp-damaged", control=16)
    assert ws.attribute_flips("mlp", "mlp-damaged", control=16, cached_only=True) == first
    with pytest.raises(NotComputedError, match="not stored yet"):
        ws.attribute_flips("mlp", "mlp-damaged", control=16, flips="any", cached_only=True)


def test_one_class_by_name_or_id(damaged_workspace: cl.Workspace) -> None:
    ws = damaged_workspace
    everything = ws.attribute_flips("mlp", "mlp-damaged", control=0)
    biggest = max(everything.by_class, key=lambda row: row.flips)
    by_name = ws.attribute_flips("mlp", "mlp-damaged", class_=str(biggest.label), control=0)
    assert by_name.flips == biggest.flips
    assert {row.label for row in by_name.by_class} == {biggest.label}
    assert by_name.context["class"] == biggest.label


def test_any_flip_kind_counts_every_changed_prediction(damaged_workspace: cl.Workspace) -> None:
    ws = damaged_workspace
    worse = ws.attribute_flips("mlp", "mlp-damaged", control=0)
    changed = ws.attribute_flips("mlp", "mlp-damaged", flips="any", control=0)
    assert changed.flips > worse.flips


def test_a_structured_pruned_model_lists_the_unrestorable_modules(
    damaged_workspace: cl.Workspace,
) -> None:
    ws = damaged_workspace
    ws.compress("mlp", "prune.structured", amount=0.5, name="mlp-narrow")
    for name in ("mlp", "mlp-narrow"):
        ws.evaluate(name, "digits", latency=False)
    result = ws.attribute_flips("mlp", "mlp-narrow", flips="any", control=0)
    rows = {row.module: row for row in result.rows}
    assert not rows["body.0"].restorable and not rows["classifier"].restorable
    assert "shape mismatch: weight is [32, 64] in the base" in str(rows["body.0"].reason)
    assert result.greedy == [] and not result.reached


def test_bad_settings_fail_before_any_model_runs(damaged_workspace: cl.Workspace) -> None:
    ws = damaged_workspace
    with pytest.raises(FlipAttributionError, match="no class 'eleven'"):
        ws.attribute_flips("mlp", "mlp-damaged", class_="eleven")
    with pytest.raises(FlipAttributionError, match=r"class must be within \[0, 9\]"):
        ws.attribute_flips("mlp", "mlp-damaged", class_=10)
    with pytest.raises(FlipAttributionError, match="groups must be one of"):
        ws.attribute_flips("mlp", "mlp-damaged", groups="layers")
    with pytest.raises(FlipAttributionError, match="control must be 0 or more"):
        ws.attribute_flips("mlp", "mlp-damaged", control=-1)


def test_models_not_evaluated_on_the_dataset_are_a_clear_error(
    damaged_workspace: cl.Workspace,
) -> None:
    ws = damaged_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="mlp-50")
    with pytest.raises(NotFoundError, match="has not been evaluated"):
        ws.attribute_flips("mlp", "mlp-50", "digits")
