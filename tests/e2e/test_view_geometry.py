"""The Geometry view in chromium shows the Python API's numbers on the real demo workspace.

tests/e2e/views/geometry.mjs opens the view with a lean_cnn seed as the base and its 80% and
95% magnitude-pruned children selected, and records what the page showed.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_harness import view_report

import compresslens as cl


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict:
    return view_report(demo_report, "geometry")


def test_class_angles_and_lengths_are_the_python_api_s(rec: dict, demo_ws: cl.Workspace) -> None:
    for shown, model in (
        (rec["classes"], rec["model"]),
        (rec["clicked"]["classes"], rec["clicked"]["model"]),
    ):
        per_class = demo_ws.geometry(model, rec["dataset"])["per_class"]
        assert len(shown) == len(per_class["count"])
        for point in shown:
            c = point["class"]
            assert point["angle"] == pytest.approx(per_class["angle"]["mean"][c], abs=1e-9)
            assert point["length"] == pytest.approx(per_class["length"]["mean"][c], abs=1e-9)


def test_the_clicked_model_differs_from_the_default(rec: dict) -> None:
    assert rec["clicked"]["model"] != rec["model"]
    assert [p["angle"] for p in rec["clicked"]["classes"]] != [p["angle"] for p in rec["classes"]]


def test_map_places_each_requested_model_on_a_spanning_tree(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    ids = rec["map"]["ids"]
    assert ids[0] == rec["base"] and len(set(ids)) == 3
    assert rec["map"]["edges"] == len(ids) - 1
    direct = demo_ws.geometry_map(ids, rec["dataset"], base=rec["base"])
    assert rec["map"]["method"] == direct["method"]
    assert len(direct["edges"]) == rec["map"]["edges"]


def test_fragility_counts_and_margins_are_the_python_api_s(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    change = demo_ws.compare(rec["base"], rec["model"], rec["dataset"], n_boot=0).geometry()
    assert rec["fragility"] == {k: len(v) for k, v in change["fragility"].items()}
    # margin ≤ 0 exactly when the sample is misclassified, so the shares are 1 − accuracy
    for series, model in (("base", rec["base"]), ("model", rec["model"])):
        accuracy = demo_ws.model(model).metrics[rec["dataset"]]["accuracy"]
        assert rec["margin"][series] == pytest.approx(1 - accuracy, abs=2e-3)


def test_occlusion_of_instance_zero_is_the_python_api_s(rec: dict, demo_ws: cl.Workspace) -> None:
    occ = rec["occlusion"]
    direct = np.asarray(demo_ws.occlusion(occ["model"], rec["dataset"], occ["index"])[occ["part"]])
    assert len(occ["cells"]) == direct.size == 49
    for cell in occ["cells"]:
        assert cell["value"] == pytest.approx(direct[cell["row"], cell["col"]], rel=1e-5, abs=1e-6)


def test_map_of_all_models_holds_every_evaluated_model(rec: dict, demo_ws: cl.Workspace) -> None:
    evaluated = [m for m in demo_ws.models() if rec["dataset"] in m.metrics]
    assert rec["mapAll"]["points"] == min(len(evaluated), 100)
    assert rec["mapAll"]["edges"] == rec["mapAll"]["points"] - 1
