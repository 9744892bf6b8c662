"""Layers view on the demo workspace: what the browser showed equals the Python API.

A lean_cnn seed is the base, its 50% and 80% magnitude and dynamic int8 children the columns
(tests/e2e/views/layers.mjs records the cells it read).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_harness import view_report

import compresslens as cl
from compresslens.analysis.activations import first_divergent_layer, is_identical
from compresslens.workspace.layers import DEFAULT_DIVERGENCE


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


def _rows(rec: dict, demo_ws: cl.Workspace, model: str) -> list[dict]:
    return demo_ws.compare(rec["base"], model, rec["dataset"]).activations()["modules"]


def test_first_diverging_layer_is_the_python_one(rec: dict, demo_ws: cl.Workspace) -> None:
    assert rec["defaults"]["metric"] == "cka"
    assert rec["defaults"]["threshold"] == DEFAULT_DIVERGENCE["cka"]
    for model in [*rec["models"], rec["int8"]]:
        rows = _rows(rec, demo_ws, model)
        default = first_divergent_layer(rows, DEFAULT_DIVERGENCE["cka"])
        assert (rec["firstDiverging"]["default"][model] or None) == default
        strict = first_divergent_layer(rows, 0.999)
        assert (rec["firstDiverging"]["0.999"][model] or None) == strict
        assert rec["markers"].get(model) == strict


def test_int8_diverges_at_its_first_quantized_layer_and_pruning_earlier(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    """The default threshold answers "where does int8 diverge?": at the first layer it
    quantized (the convolutions before it are identical), while pruning diverges earlier."""
    weights = demo_ws.compare(rec["base"], rec["int8"]).layers()["modules"]
    first_quantized = next(row["module"] for row in weights if row["quantized"])
    named = rec["firstDiverging"]["default"]
    assert named[rec["int8"]] == first_quantized
    order = [row["module"] for row in _rows(rec, demo_ws, rec["int8"])]
    for model in rec["models"]:
        assert order.index(named[model]) < order.index(first_quantized)
    assert rec["defaults"]["label"] == "Diverging below linear CKA"


def test_sqnr_names_its_own_first_diverging_layer_and_shows_identical_layers_as_infinite(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    assert rec["sqnrThreshold"] == DEFAULT_DIVERGENCE["sqnr_db"]
    assert rec["sqnrLabel"] == "Diverging below SQNR (dB)"
    for model in [*rec["models"], rec["int8"]]:
        expected = first_divergent_layer(
            _rows(rec, demo_ws, model), DEFAULT_DIVERGENCE["sqnr_db"], "sqnr_db"
        )
        assert (rec["firstDiverging"]["sqnr"][model] or None) == expected
        marked = [c["module"] for c in rec["sqnrMarkers"] if c["model"] == model]
        assert marked == ([expected] if expected else [])
    rows = _rows(rec, demo_ws, rec["int8"])
    identical = {row["module"] for row in rows if is_identical(row)}
    assert "block1.conv" in identical and "hidden" not in identical
    shown = {c["module"]: c for c in rec["sqnrInt8"]}
    assert {m for m, c in shown.items() if c["shown"] == "∞ dB"} == identical
    assert all(shown[m]["value"] == "Infinity" for m in identical)
    for row in rows:
        if not is_identical(row):
            assert float(shown[row["module"]]["value"]) == pytest.approx(row["sqnr_db"], abs=1e-9)


def test_the_filter_keeps_conv_layers_and_their_parents(rec: dict) -> None:
    leaves = [m for m in rec["filtered"] if m.endswith("conv")]
    assert leaves == [m for m in rec["treeRows"] if m.endswith("conv")]
    assert all(m.endswith("conv") for m in rec["filteredHeat"])
    assert len(rec["filtered"]) < len(rec["treeRows"])


def test_the_chosen_module_shows_a_histogram_for_every_selected_model(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    assert rec["histograms"] == len(rec["models"]) + 1  # 50%, 80% and the int8 child
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
    for name in ("layers-02-heatmap", "layers-06-sqnr"):
        assert {f"{name}-1440.png", f"{name}-1024.png"} <= set(shots)


def test_flip_attribution_column_equals_the_python_attribution(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    """Issue 14: the "flips undone when restored" column, the greedy set and its share are
    Workspace.attribute_flips's (correct -> incorrect, stored by the server's job)."""
    shown = rec["attribution"]
    result = demo_ws.attribute_flips(shown["base"], shown["model"], cached_only=True)
    assert shown["flips"] == result.flips
    assert shown["greedy"] == result.greedy_set
    assert shown["cumulative"] == pytest.approx(result.greedy[-1].cumulative_share, abs=1e-12)
    cells = {c["module"]: c for c in shown["cells"]}
    assert set(cells) == {row.module for row in result.rows}
    for row in result.rows:
        cell = cells[row.module]
        if row.unchanged:
            assert cell["text"].startswith("unchanged")
        elif not row.restorable:
            assert cell["text"].startswith("—") and row.reason and row.reason in cell["title"]
        else:
            assert float(cell["share"]) == pytest.approx(row.undone_share, abs=1e-12)
            assert cell["text"].startswith(f"{row.undone_share * 100:.1f}%")
        assert cell["greedy"] == (row.module in result.greedy_set)


def test_a_structured_models_unrestorable_modules_show_the_reason(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    """Asked by a shared link (p.lay.attr=all): the modules whose shapes changed cannot be
    restored; their cells say "—" with the API's reason on hover."""
    shown = rec["structuredAttribution"]
    result = demo_ws.attribute_flips(shown["base"], shown["model"], cached_only=True)
    cells = {c["module"]: c for c in shown["cells"]}
    unrestorable = [row for row in result.rows if not row.restorable]
    assert unrestorable
    assert {m for m, c in cells.items() if c["text"] == "—"} == {r.module for r in unrestorable}
    for row in unrestorable:
        assert cells[row.module]["title"] == f"cannot be restored: {row.reason}"
    assert shown["flips"] == result.flips
    assert shown["greedy"] == result.greedy_set
