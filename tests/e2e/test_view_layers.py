"""Layers view on the demo workspace: what the browser showed equals the Python API.

A lean_cnn seed is the base, its 50% and 80% magnitude children the columns
(tests/e2e/views/layers.mjs records the cells it read).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import view_report

import compresslens as cl
from compresslens.analysis.activations import first_divergent_layer


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict:
    return view_report(demo_report, "layers")


def _value(text: str) -> float | None:
    return None if text == "" else float(text)


def test_sparsity_cells_equal_the_python_layer_comparison(rec: dict, demo_ws: cl.Workspace) -> None:
    for model in rec["models"]:
        layers = demo_ws.compare(rec["base"], model).layers()
        expected = {row["module"]: row["model"]["sparsity"] for row in layers["modules"]}
        expected |= {row["module"]: row["model"]["sparsity"] for row in layers["rollup"]}
        shown = rec["sparsity"][model]
        assert set(shown) == set(expected)
        assert {m: float(v) for m, v in shown.items()} == pytest.approx(expected, abs=1e-12)
        # pruning 50% / 80% of the Linear and Conv2d weights (globally)
        assert any(v > 0 for v in expected.values())


def test_relative_change_cells_equal_the_python_layer_comparison(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    model = rec["models"][1]
    layers = demo_ws.compare(rec["base"], model).layers()
    for row in layers["modules"]:
        expected = row["relative_change"]["mean"] if row["comparable"] else None
        assert _value(rec["change"][model][row["module"]]) == pytest.approx(expected, abs=1e-12)


def test_cka_heat_map_cells_equal_the_python_activations(rec: dict, demo_ws: cl.Workspace) -> None:
    for model in rec["models"]:
        acts = demo_ws.compare(rec["base"], model, rec["dataset"]).activations()
        expected = {row["module"]: row["cka"] for row in acts["modules"]}
        shown = {m: _value(v) for m, v in rec["cka"][model].items()}
        assert shown == pytest.approx(expected, abs=1e-12)
    m80 = rec["models"][1]
    acts = demo_ws.compare(rec["base"], m80, rec["dataset"]).activations()
    sqnr = {row["module"]: row["sqnr_db"] for row in acts["modules"]}
    assert {m: _value(v) for m, v in rec["sqnr"][m80].items()} == pytest.approx(sqnr, abs=1e-9)


def test_first_diverging_layer_is_the_python_one(rec: dict, demo_ws: cl.Workspace) -> None:
    for model in rec["models"]:
        acts = demo_ws.compare(rec["base"], model, rec["dataset"]).activations()
        assert (rec["firstDiverging"]["0.9"][model] or None) == acts["first_divergent_layer"]
        strict = first_divergent_layer(acts["modules"], 0.999)
        assert (rec["firstDiverging"]["0.999"][model] or None) == strict
        assert rec["markers"].get(model) == strict


def test_the_filter_keeps_conv_layers_and_their_parents(rec: dict) -> None:
    leaves = [m for m in rec["filtered"] if m.endswith("conv")]
    assert leaves == [m for m in rec["treeRows"] if m.endswith("conv")]
    assert all(m.endswith("conv") for m in rec["filteredHeat"])
    assert len(rec["filtered"]) < len(rec["treeRows"])


def test_the_chosen_module_shows_histograms_for_both_models(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    assert rec["histograms"] == 2
    module, model = rec["histogramModule"], rec["models"][1]
    row = next(
        r for r in demo_ws.compare(rec["base"], model).layers()["modules"] if r["module"] == module
    )
    unchanged = row["relative_change_histogram"][0] / sum(row["relative_change_histogram"])
    assert float(rec["unchanged"]) == pytest.approx(unchanged, abs=1e-12)


def test_sensitivity_ranking_is_the_python_one(rec: dict, demo_ws: cl.Workspace) -> None:
    sens = rec["sensitivity"]
    assert sens["state"] == "ok", sens["error"]
    result = demo_ws.sensitivity(
        sens["model"], rec["dataset"], "prune.magnitude", amount=sens["amount"], cached_only=True
    )
    expected = sorted(result["ranking"], key=lambda r: r["rank"])
    assert [r["layer"] for r in sens["rows"]] == [r["layer"] for r in expected]
    for shown, row in zip(sens["rows"], expected, strict=True):
        assert _value(shown["drop"]) == pytest.approx(row["drop"], abs=1e-12)


def test_screenshots_were_saved(rec: dict, demo_report: dict) -> None:
    shots = [Path(p).name for p in demo_report["screenshots"]]
    for name in ("layers-01-weights.png", "layers-02-heatmap.png", "layers-05-sensitivity.png"):
        assert name in shots
