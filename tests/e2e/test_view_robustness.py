"""Robustness view in chromium on the demo workspace: every cell shown equals the Python API.

Base: a lean_cnn seed; models: its 80% and 95% magnitude-pruned children; gaussian noise and
contrast at severities 1 and 5 on the first 200 test images (tests/e2e/views/robustness.mjs).
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl
from compresslens.errors import NotComputedError

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


# ---------------------------------------------------------------- steering jobs (issue 13, 4)


@pytest.fixture(scope="module")
def steering(shown: dict[str, Any]) -> dict[str, Any]:
    return shown["steering"]


def test_the_long_sweeps_bar_filled_and_said_its_time_left(steering: dict[str, Any]) -> None:
    assert 0 < steering["fillFraction"] < 1 and steering["fillWidth"] > 0
    assert "left" in steering["estimate"]
    assert " of " in steering["progressText"] and "0 of 0" not in steering["progressText"]


def test_a_short_job_posted_behind_the_sweep_finished_first_with_the_python_answer(
    steering: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    posted = steering["shortPosted"]
    assert posted["position"] == 1 and posted["ahead"][0]["kind"] == "robustness"
    assert posted["ahead"][0]["until"] == "next_step"
    assert steering["shortStatus"] == 200 and steering["sweepStillRunning"]
    query = dict(pair.split("=", 1) for pair in steering["shortUrl"].split("&"))
    direct = demo_ws.sensitivity(
        query["model"], steering["dataset"], amount=0.3, limit=200, cached_only=True
    )
    assert steering["shortRanking"] == [
        [row["layer"], pytest.approx(row["drop"], abs=1e-12)] for row in direct["ranking"]
    ]


def test_a_second_long_sweep_showed_its_place_behind_the_first(steering: dict[str, Any]) -> None:
    assert steering["queuePosition"] == 1
    assert steering["queueText"].startswith("waiting: 1 job ahead: robustness of 20 models")


def test_the_cancelled_sweep_left_no_job_and_no_whole_table(
    steering: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    assert steering["offeredAgain"] and steering["jobsAfterCancel"] == []
    with pytest.raises(NotComputedError):
        demo_ws.robustness(
            steering["models"],
            steering["dataset"],
            base=steering["base"],
            corruptions=steering["corruptions"],
            severities=steering["severities"],
            limit=steering["limit"],
            cached_only=True,
        )
