"""Robustness view in chromium on the demo workspace: every cell shown equals the Python API.

Base: a lean_cnn seed; models: its 80% and 95% magnitude-pruned children; gaussian noise and
contrast at severities 1 and 5 on the first 200 test images (tests/e2e/views/robustness.mjs).
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser


@pytest.fixture(scope="module")
def shown(demo_report: dict) -> dict[str, Any]:
    return view_report(demo_report, "robustness")


@pytest.fixture(scope="module")
def direct(shown: dict[str, Any], demo_ws: cl.Workspace) -> list[dict[str, Any]]:
    return demo_ws.robustness(
        shown["models"],
        shown["dataset"],
        base=shown["base"],
        corruptions=shown["corruptions"],
        severities=shown["severities"],
        limit=shown["limit"],
    )


def test_the_models_are_a_seed_and_its_80_and_95_percent_children(
    shown: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    base = demo_ws.model(shown["base"])
    assert base.operation.name == "train.scratch"
    amounts = []
    for model_id in shown["models"]:
        model = demo_ws.model(model_id)
        assert model.operation.name == "prune.magnitude"
        assert model.operation.parents[0]["id"] == base.id
        amounts.append(model.operation.params["amount"])
    assert amounts == [0.8, 0.95]
    assert (shown["corruptions"], shown["severities"], shown["limit"]) == (
        ["gaussian_noise", "contrast"],
        [1, 5],
        200,
    )


def test_every_accuracy_and_drop_shown_equals_the_python_table(
    shown: dict[str, Any], direct: list[dict[str, Any]]
) -> None:
    cells = {(c["model"], c["corruption"], c["severity"]): c for c in shown["cells"]}
    assert len(cells) == len(direct) == 3 * (1 + 2 * 2)
    for row in direct:
        cell = cells[(row["model"], row["corruption"], row["severity"])]
        assert cell["accuracy"] == pytest.approx(row["accuracy"], abs=1e-9)
        assert cell["drop"] == pytest.approx(row["drop"], abs=1e-9)
        assert cell["text"] == f"{row['accuracy'] * 100:.1f}%"
    assert shown["rows"] == list(dict.fromkeys(row["model"] for row in direct))  # base first


def test_the_heaviest_pruning_loses_the_most_under_corruption(
    shown: dict[str, Any], direct: list[dict[str, Any]]
) -> None:
    corrupted = [r for r in direct if r["corruption"] != "clean"]

    def mean_drop(model_id: str) -> float:
        drops = [r["drop"] for r in corrupted if r["model"] == shown["names"][model_id]]
        return sum(drops) / len(drops)

    p80, p95 = shown["models"]
    assert mean_drop(p95) > mean_drop(p80)
    for model_id in shown["models"]:  # the "mean Δ" column
        assert shown["meanDrops"][shown["names"][model_id]] == pytest.approx(mean_drop(model_id))
    assert shown["meanDrops"][shown["names"][shown["base"]]] is None


def test_progress_was_shown_or_the_sweep_was_stored(shown: dict[str, Any]) -> None:
    assert shown["sawProgress"] or shown["fromCache"]


def test_clicking_a_row_selects_that_model_and_keeps_the_table(shown: dict[str, Any]) -> None:
    assert shown["rowsAfterPick"] == 3
    assert shown["highlighted"] == [shown["models"][1]]
    assert shown["mapPressed"] in (None, "true")
