"""The PIE view in chromium shows the Python API's numbers on the demo workspace.

Baseline: the 8 lean_cnn seeds trained from scratch; compressed: their magnitude-pruned copies
(tag stage:magnitude), one level per pruning amount. What the page drew (tests/e2e/views/pies.mjs)
is compared with `demo_ws.pies_by_level(...)`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser
BASELINE, COMPRESSED, BY = "op:train.scratch", "tag:stage:magnitude", "amount"


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict[str, Any]:
    return view_report(demo_report, "pies")


@pytest.fixture(scope="module")
def direct(demo_ws: cl.Workspace) -> dict[str, dict[str, Any]]:
    """The Python reports by level value as the page writes it ("0.5", "0.8", "0.95")."""
    reports = demo_ws.pies_by_level(BASELINE, COMPRESSED, BY)
    assert all(isinstance(report["level"][BY], float) for report in reports)
    return {str(report["level"][BY]): report for report in reports}


def test_the_populations_shown_are_the_selected_ones(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    assert rec["query"] == {"baseline": BASELINE, "compressed": COMPRESSED, "by": BY}
    assert rec["baselineCount"] == len(demo_ws.select(BASELINE))
    assert rec["compressedCount"] == len(demo_ws.select(COMPRESSED))


def test_pie_counts_per_level_equal_the_python_api(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    shown = {level["level"]: level["count"] for level in rec["levels"]}
    assert shown == {level: report["summary"]["pie_count"] for level, report in direct.items()}
    assert [level["level"] for level in rec["levels"]] == list(direct)  # in level order
    counts = list(shown.values())
    assert counts == sorted(counts) and counts[0] > 0, "more pruning, more PIEs"
    for level in rec["levels"]:
        assert level["share"] == pytest.approx(direct[level["level"]]["summary"]["pie_share"])


def test_accuracy_on_pies_and_the_rest_equals_the_python_api(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    for bar in rec["accuracy"]:
        population, subset = bar["series"].split("-")
        expected = direct[bar["level"]]["summary"][population][subset]["mean"]
        assert bar["value"] == pytest.approx(expected, abs=1e-12), bar


def test_class_t_and_p_values_equal_the_python_welch_tests(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    for cell in rec["classCells"]:
        row = next(c for c in direct[cell["level"]]["classes"] if c["class"] == cell["class"])
        assert cell["t"] == pytest.approx(row["t"], abs=1e-9), cell
        assert cell["p"] == pytest.approx(row["p_value"], abs=1e-12), cell
        assert cell["impacted"] == row["impacted"], cell
    impacted = [c for c in rec["classCells"] if c["impacted"]]
    assert impacted, "the demo's 95% level impacts some classes"
    per_level = {lv: sum(c["impacted"] for c in impacted if c["level"] == lv) for lv in direct}
    assert per_level == {lv: r["impacted_classes"] for lv, r in direct.items()}


def _python_rows(report: dict[str, Any], start: int, stop: int) -> list[dict[str, Any]]:
    keys = ("instance", "baseline_modal", "baseline_vote", "compressed_modal", "compressed_vote")
    return [{k: row[k] for k in keys} for row in report["pies"][start:stop]]


def test_the_gallery_pages_the_most_compressed_level_with_modal_labels_and_votes(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    last = list(direct)[-1]
    gallery = rec["gallery"]
    assert gallery["level"] == last and gallery["offset"] == 0
    assert gallery["total"] == direct[last]["summary"]["pie_count"]
    assert gallery["cards"] == _python_rows(direct[last], 0, 40)
    assert rec["page2"]["cards"] == _python_rows(direct[last], 40, 80)


def test_the_gallery_thumbnails_are_images(rec: dict[str, Any]) -> None:
    widths = rec["thumbnailWidths"]
    assert len(widths) == len(rec["gallery"]["cards"]) == 40
    assert all(width > 0 for width in widths)


def test_a_class_from_the_table_filters_the_gallery(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    report = direct[rec["gallery"]["level"]]
    chosen = rec["classFilter"]["class"]
    ids = [row["instance"] for row in report["pies"] if row["label"] == chosen]
    assert rec["classFilter"]["total"] == len(ids) > 0
    assert [card["instance"] for card in rec["classFilter"]["cards"]] == ids[:40]


def test_a_bad_selector_shows_the_server_message(rec: dict[str, Any]) -> None:
    assert "no model matches 'tag:no-such-tag'" in rec["errorMessage"]


def test_a_dataset_the_populations_lack_shows_the_server_message(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    shown = rec.get("datasetError")
    if shown is None:
        pytest.skip("the workspace has one dataset")
    with pytest.raises(cl.CompressLensError) as raised:
        demo_ws.pies(BASELINE, COMPRESSED, shown["dataset"])
    assert str(raised.value) in shown["message"]


def test_populations_of_different_sizes_show_the_python_warning(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    with pytest.warns(cl.PopulationSizeWarning):
        expected = demo_ws.pies(BASELINE, COMPRESSED)["warnings"]
    assert rec["unequalWarnings"] == expected
    assert "8 baseline and 24 compressed" in expected[0]


def _recipe(model: Any) -> tuple[str, str]:
    """What a seed population shares: the operation and its parameters (the seed aside)."""
    return model.operation.name, repr(sorted(model.operation.params.items()))


def test_the_default_populations_are_seed_populations_of_the_workspace(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    defaults = rec["defaults"]
    baseline = demo_ws.select(defaults["baseline"])
    assert [m.name for m in baseline] == defaults["baselineNames"]
    assert len(baseline) > 1 and len({_recipe(m) for m in baseline}) == 1
    compressed = demo_ws.select(defaults["compressed"])
    assert len(defaults["levels"]) > 1 and defaults["by"]
    by_name = {m.name: m for m in compressed}
    for level in defaults["levels"]:
        models = [by_name[name] for name in level["compressed"]]
        assert len(models) > 1 and len({_recipe(m) for m in models}) == 1, level
        assert len({m.operation.seed for m in models}) == len(models)  # seeds, not copies
    assert sum(len(level["compressed"]) for level in defaults["levels"]) == len(compressed)


def test_every_named_preset_picks_the_models_its_name_counts(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    named = [p for p in rec["presets"] if re.search(r"× (\d+) seeds", p["label"])]
    assert named
    for preset in named:
        count = int(re.search(r"× (\d+) seeds", preset["label"]).group(1))
        models = demo_ws.select(preset["value"])
        levels = int(m.group(1)) if (m := re.search(r"(\d+) levels", preset["label"])) else 1
        assert len(models) == count * levels, preset


def test_impacted_gains_and_losses_are_counted_as_python_signs_them(
    rec: dict[str, Any], direct: dict[str, dict[str, Any]]
) -> None:
    shown = rec["signColours"]
    rows = [c for report in direct.values() for c in report["classes"] if c["impacted"]]
    assert shown["gains"] == sum(c["t"] > 0 for c in rows)
    assert shown["losses"] == sum(c["t"] < 0 for c in rows)
    assert shown["wrong"] == 0 and shown["colours"]["better"] != shown["colours"]["worse"]
