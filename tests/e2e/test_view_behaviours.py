"""Behaviours view in chromium on the demo workspace: what it shows equals the Python API."""

from __future__ import annotations

import numpy as np
import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl
from compresslens.analysis.predictions import EXCESS_MEANING

pytestmark = needs_browser


@pytest.fixture(scope="module")
def shown(demo_report: dict) -> dict:
    return view_report(demo_report, "behaviours")


@pytest.fixture(scope="module")
def comparison(shown: dict, demo_ws: cl.Workspace):
    return demo_ws.compare(shown["base"], shown["model"], shown["dataset"], n_boot=200)


def test_the_pair_is_a_seed_and_its_80_percent_pruned_child(shown: dict, demo_ws: cl.Workspace):
    base, model = demo_ws.model(shown["base"]), demo_ws.model(shown["model"])
    assert base.operation.name == "train.scratch"
    assert model.operation.name == "prune.magnitude" and model.operation.params["amount"] == 0.8
    assert model.operation.parents[0]["id"] == base.id


def test_the_class_cell_shows_the_per_class_change(shown: dict, comparison) -> None:
    row = next(r for r in comparison.per_class() if r["class"] == shown["class_cell"]["class"])
    assert shown["class_cell"]["delta"] == pytest.approx(row["delta"], abs=1e-12)
    # a single model in the batch draws the bootstrap exactly as Comparison does
    assert shown["class_cell"]["delta_low"] == pytest.approx(row["delta_low"], abs=1e-12)
    assert shown["class_cell"]["delta_high"] == pytest.approx(row["delta_high"], abs=1e-12)
    assert shown["class_rows"] == comparison.dataset.num_classes


def test_each_class_cell_names_the_direction_of_its_excess_change(shown: dict, comparison) -> None:
    """Shirt lost more than the model overall (▼); the legend says what ▼ and ▲ mean."""
    assert shown["class_excess"] == {r["class"]: r["excess"] for r in comparison.per_class()}
    assert shown["class_excess"]["Shirt"] == "loss"
    marks = {"loss": "▼", "gain": "▲", None: ""}
    assert shown["class_marks"] == {c: marks[e] for c, e in shown["class_excess"].items()}
    for direction, words in EXCESS_MEANING.items():
        assert f"{marks[direction]} {words}" in shown["legend"]


def test_the_subgroup_cell_shows_the_per_subgroup_change(shown: dict, comparison) -> None:
    cell = shown["subgroup_cell"]
    rows = comparison.per_subgroup()[cell["attribute"]]
    row = next(r for r in rows if r["value"] == cell["value"])
    assert cell["delta"] == pytest.approx(row["delta"], abs=1e-12)
    assert shown["subgroup_rows"] == sum(len(v) for v in comparison.per_subgroup().values())


def test_the_drill_down_counts_the_instances_of_the_class(shown: dict, comparison) -> None:
    table = comparison.instances()
    label = comparison.dataset.class_names.index("Shirt")
    in_class = table["label"] == label
    drill = shown["drill"]
    assert drill["class"] == "Shirt" and drill["label"] == label
    assert drill["total"] == int(in_class.sum())
    lost = in_class & (table["flip"] == "correct_to_incorrect")
    assert drill["lost_total"] == int(lost.sum())
    # the first page is the class's instances sorted by |KL|, largest first
    rows = np.flatnonzero(in_class)
    order = rows[np.argsort(-np.abs(table[drill["sort"]][rows]), kind="stable")]
    assert drill["first_page"] == order[: len(drill["first_page"])].tolist()
    assert drill["thumbnail_width"] > 0


def test_the_transition_cell_equals_the_python_matrix(shown: dict, comparison) -> None:
    names = comparison.dataset.class_names
    matrix = comparison.transitions()
    cell = shown["transition"]
    assert cell["count"] == int(matrix[names.index(cell["from"]), names.index(cell["to"])])


def test_agreement_and_calibration_equal_the_python_api(
    shown: dict, comparison, demo_ws: cl.Workspace
) -> None:
    agreement = demo_ws.agreement([shown["base"], shown["model"]], shown["dataset"])
    assert shown["agreement"] == pytest.approx(agreement["matrix"][0][1], abs=1e-12)
    assert shown["ece"] == pytest.approx(comparison.calibration()["ece"], abs=1e-12)


def _robustness_runs_and_other_metrics(ws: cl.Workspace) -> tuple[set[str], set[str]]:
    """The robustness runs (dataset + `#n…s…`) and the other numeric metrics of every model."""
    runs, others = set(), set()
    for model in ws.models():
        for group, values in model.metrics.items():
            for name, value in values.items():
                if not isinstance(value, (int, float)):
                    continue
                if name.startswith("robust:"):
                    runs.add(f"{group}/{name[name.index('#') :]}")
                else:
                    others.add(f"{group}/{name}")
    return runs, others


def test_metric_lists_offer_one_robustness_mean_per_run(shown: dict, demo_ws: cl.Workspace):
    """Issue 13 item 1: per-condition robustness results stay out of the colour select and the
    details checkboxes; each run is one "Robust accuracy (mean over conditions)" metric."""
    runs, others = _robustness_runs_and_other_metrics(demo_ws)
    lists = shown["metric_lists"]
    # the browser counted the models it loaded; later views of the same pass (Robustness) may
    # add runs and metrics to the workspace, so those counts are a subset of today's
    shown_runs = lists["runs"]
    # (a fresh demo has no run when the page loads: the Robustness view makes the first)
    assert set(shown_runs) <= runs
    assert lists["non_robust_metrics"] <= len(others)
    assert lists["colour_options"] == lists["non_robust_metrics"] + len(shown_runs)
    assert lists["details_checkboxes"] == lists["non_robust_metrics"] + len(shown_runs)
    assert len(lists["colour_robust_options"]) == len(shown_runs)
    assert all("mean over conditions" in label for label in lists["colour_robust_options"])
    if shown_runs:
        assert lists["colour_groups"][-1] == "Robustness"


def test_model_columns_name_the_amount_that_tells_them_apart(shown: dict, demo_ws: cl.Workspace):
    """Issue 13 item 2: the 50/80/95% magnitude columns read "amount 0.5" …, full name on hover."""
    columns = shown["columns"]
    models = [demo_ws.model(key) for key in columns["ids"]]
    amounts = [m.operation.params["amount"] for m in models]
    assert amounts == [0.5, 0.8, 0.95]
    texts = [h["text"].lstrip("◀ ") for h in columns["headers"]]
    assert texts == [f"amount {a}" for a in amounts]
    assert all(m.name in h["title"] for m, h in zip(models, columns["headers"], strict=True))


def test_the_selection_panel_latency_equals_the_stored_one(shown: dict, demo_ws: cl.Workspace):
    """A sub-millisecond latency reads with three significant digits (never "0")."""
    cells = shown["latency"]["cells"]
    assert cells
    for cell in cells:
        stored = demo_ws.model(cell["id"]).metrics["model"]["latency_ms_b1"]
        assert stored < 1
        assert float(cell["value"]) == pytest.approx(stored, rel=5e-3)


def test_the_agreement_labels_name_the_amounts(shown: dict, demo_ws: cl.Workspace):
    """The base, then each pruned model by its operation and amount (operations differ there)."""
    amounts = [demo_ws.model(key).operation.params["amount"] for key in shown["columns"]["ids"]]
    assert shown["agreement_labels"][1:] == [f"magnitude · amount {a}" for a in amounts]


def test_which_layers_opens_the_class_attribution_of_the_python_api(
    shown: dict, demo_ws: cl.Workspace
) -> None:
    """Issue 14: a class row's "Which layers?" shows that class's correct -> incorrect flips
    attributed to the focused model's modules, as Workspace.attribute_flips counts them."""
    w = shown["whichLayers"]
    result = demo_ws.attribute_flips(w["base"], w["model"], class_=w["class"], cached_only=True)
    assert (w["view"], w["param"], w["shownClass"]) == ("layers", w["class"], w["class"])
    assert w["flips"] == result.flips > 0
    assert w["greedy"] == result.greedy_set


def test_the_drill_downs_which_layers_attributes_any_flip_of_the_class(
    shown: dict, demo_ws: cl.Workspace
) -> None:
    """With the drill-down filtered to incorrect -> correct, its "Which layers?" attributes
    every changed prediction of the class (flips="any")."""
    w, d = shown["whichLayers"], shown["whichLayersDrill"]
    result = demo_ws.attribute_flips(
        w["base"], w["model"], flips="any", class_=w["class"], cached_only=True
    )
    assert d["flips"] == result.flips > shown["whichLayers"]["flips"]
