"""The scatter's Pareto ring with behaviour metrics as axes, checked against `Workspace.pareto`.

views/map_pareto.mjs (run inside views/map.mjs) opens the scatter at compressed size × the
negative flip rate vs the lineage root on fashion-mnist-test and records the ringed points;
here they must be exactly the frontier the facade computes on the same two objectives.
"""

from __future__ import annotations

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser


@pytest.fixture(scope="module")
def pareto_report(demo_report: dict) -> dict:
    return view_report(demo_report, "map")["paretoBehaviour"]


def test_the_scatter_rings_the_frontier_the_workspace_computes(
    pareto_report: dict, demo_ws: cl.Workspace
) -> None:
    assert pareto_report["x"] == "model/compressed_bytes"
    assert pareto_report["y"] == "fashion-mnist-test/negative_flip_rate"
    found = demo_ws.pareto(["compressed_bytes", "negative_flip_rate"], dataset="fashion-mnist-test")
    assert sorted(pareto_report["ringed"]) == sorted(r["id"] for r in found["frontier"])
    # every model with both metrics is a point (the LM part has no image dataset)
    assert pareto_report["points"] == len(found["frontier"]) + len(found["dominated"])


def test_the_axis_is_labelled_with_its_direction(pareto_report: dict) -> None:
    assert any(
        label.startswith("Negative flip rate vs root") and "↓ better" in label
        for label in pareto_report["axisLabels"]
    ), pareto_report["axisLabels"]
