"""Selection details in chromium: the variables, bars and filter counts match the Python API."""

from __future__ import annotations

import math
from typing import Any

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser


def metric(model: Any, key: str) -> float | None:
    """The metric "group/name" of a model, as the UI reads it (None when missing)."""
    group, name = key.split("/", 1)
    value = model.metrics.get(group, {}).get(name)
    return float(value) if value is not None and math.isfinite(value) else None


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict:
    return view_report(demo_report, "details")


def magnitude_of_seeds_0_and_1(ws: cl.Workspace) -> list[Any]:
    return [
        m
        for m in ws.models()
        if m.operation
        and m.operation.name == "prune.magnitude"
        and m.operation.seed in (0, 1)
        and "fashion-mnist-test" in m.metrics  # the image models, not the demo LM's
    ]


def test_the_selection_is_the_magnitude_models_of_seeds_0_and_1(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    assert sorted(rec["selected"]) == sorted(m.id for m in magnitude_of_seeds_0_and_1(demo_ws))
    assert "no shared ancestor" in rec["ancestor"]


def test_amount_is_listed_with_its_levels_and_counts(rec: dict, demo_ws: cl.Workspace) -> None:
    models = magnitude_of_seeds_0_and_1(demo_ws)
    amounts = sorted({m.operation.params["amount"] for m in models})
    amount = next(v for v in rec["variables"] if v["label"] == "prune · amount")
    assert [float(lv["level"]) for lv in amount["levels"]] == amounts
    for lv in amount["levels"]:
        expected = sum(m.operation.params["amount"] == float(lv["level"]) for m in models)
        assert lv["count"] == expected
    assert rec["groupBy"] == "prune · amount"
    assert all(f"{a:g}" in rec["legend"] for a in amounts), rec["legend"]
    labels = [v["label"] for v in rec["variables"]]
    assert "prune · scope" in labels
    assert any(label.endswith("seed") for label in labels)


def test_every_bar_is_the_mean_of_its_level(rec: dict, demo_ws: cl.Workspace) -> None:
    models = magnitude_of_seeds_0_and_1(demo_ws)
    assert rec["bars"], "no bar was drawn"
    assert any(b["metric"].endswith("/accuracy") for b in rec["bars"])
    for bar in rec["bars"]:
        level = [m for m in models if m.operation.params["amount"] == float(bar["group"])]
        values = [v for m in level if (v := metric(m, bar["metric"])) is not None]
        assert bar["count"] == len(values)
        assert bar["value"] == pytest.approx(sum(values) / len(values), rel=1e-12)
        assert bar["min"] == pytest.approx(min(values), rel=1e-12)
        assert bar["max"] == pytest.approx(max(values), rel=1e-12)


def test_split_bars_are_the_mean_of_each_combination(rec: dict, demo_ws: cl.Workspace) -> None:
    models = magnitude_of_seeds_0_and_1(demo_ws)
    for bar in rec.get("splitBars", []):
        cell = [
            m
            for m in models
            if m.operation.params["amount"] == float(bar["group"])
            and m.operation.seed == int(bar["level"])
        ]
        values = [v for m in cell if (v := metric(m, bar["metric"])) is not None]
        assert bar["value"] == pytest.approx(sum(values) / len(values), rel=1e-12)


def count_passing(ws: cl.Workspace, ranges: dict[str, tuple[float, float]]) -> int:
    def passes(model: Any) -> bool:
        for key, (lo, hi) in ranges.items():
            value = metric(model, key)
            if value is None or not lo <= value <= hi:
                return False
        return True

    return sum(passes(m) for m in ws.models())


def test_the_brushed_filter_passes_the_models_python_counts(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    brush = rec["brush"]
    assert brush["lo"] < brush["hi"]
    expected = count_passing(demo_ws, {brush["key"]: (brush["lo"], brush["hi"])})
    assert brush["passing"] == expected == brush["inRange"]
    assert 0 < expected < len(demo_ws.models())


def test_the_typed_range_combines_with_the_brush(rec: dict, demo_ws: cl.Workspace) -> None:
    brush, typed = rec["brush"], rec["typed"]
    assert (typed["lo"], typed["hi"]) == (100000, 300000)
    both = {brush["key"]: (brush["lo"], brush["hi"]), typed["key"]: (typed["lo"], typed["hi"])}
    assert typed["passing"] == count_passing(demo_ws, both)
    assert typed["inRange"] == count_passing(demo_ws, {typed["key"]: (typed["lo"], typed["hi"])})
    assert "filter=" in rec["url"]
    assert rec["afterClearOne"] == brush["passing"]
    assert rec["afterClearAll"] == rec["total"] == len(demo_ws.models())


def test_no_group_of_the_mixed_selection_pools_two_operations(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    mixed = rec["mixed"]
    by_id = {m.id: m for m in demo_ws.models()}
    operations = {
        model_id: by_id[model_id].operation.name if by_id[model_id].operation else None
        for model_id in mixed["selected"]
    }
    assert len(set(operations.values())) == 4  # train.scratch, int8, magnitude, structured
    shown = [model_id for group in mixed["groups"] for model_id in group["ids"]]
    assert sorted(shown) == sorted(mixed["selected"])  # every model in exactly one group
    for group in mixed["groups"]:
        assert len({operations[model_id] for model_id in group["ids"]}) == 1, group


def test_the_default_grouping_names_every_level_in_full(rec: dict) -> None:
    for tick in rec["mixed"]["defaultTicks"] + rec["mixed"]["ticks"]:
        assert tick["shown"] == tick["full"] and "…" not in tick["shown"], tick


def test_latency_means_are_the_python_values_with_their_digits(
    rec: dict, demo_ws: cl.Workspace
) -> None:
    latencies = [
        metric(m, "model/latency_ms_b1")
        for m in demo_ws.models()
        if m.id in rec["mixed"]["selected"]
    ]
    assert max(v for v in latencies if v is not None) < 1.0  # the demo's CNN: sub-millisecond
    assert all(float(text) > 0 for text in rec["mixed"]["latencyTitles"])
