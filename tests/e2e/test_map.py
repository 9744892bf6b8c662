"""The Model Map in chromium on the demo workspace, checked against the Python API.

views/map.mjs (box selection, layout, edge labels, keyboard, metric filter, and issue 13's
"at a glance" measurements: edge widths and colours, roots, headings, colours of close
values, the toolbar at 1024×700) runs first in
the one chromium pass over the served demo workspace (`demo_report`) and records what the page
showed; these tests compare it with `demo_ws` (the same workspace through Python), so a wrong
column, a wrong fade or a node over the legend fails here.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import REPO, needs_browser, view_report

import compresslens as cl
from compresslens.records import ModelInfo

pytestmark = needs_browser

FILTER_KEY = ("fashion-mnist-test", "accuracy")
FILTER_RANGE = (0.85, 1.0)


@pytest.fixture(scope="module")
def map_report(demo_report: dict) -> dict:
    """What the map checks (views/map.mjs) saw in the one chromium pass over the demo."""
    return view_report(demo_report, "map")


def column_of(demo_ws: cl.Workspace, op: str) -> set[str]:
    return {m.id for m in demo_ws.models() if m.operation is not None and m.operation.name == op}


def test_a_box_over_a_column_selects_exactly_that_column(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    expected = column_of(demo_ws, map_report["boxColumn"])
    assert len(expected) > 10
    assert set(map_report["boxSelected"]) == expected
    assert not map_report["boxPanned"]


def test_a_shift_drag_over_a_column_selects_exactly_that_column(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    expected = column_of(demo_ws, map_report["shiftColumn"])
    assert len(expected) == 8  # the lean_cnn seeds
    assert set(map_report["shiftSelected"]) == expected


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_standalone_bases_are_in_the_map_and_clear_of_the_legend(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    models = demo_ws.models()
    with_children = {p for m in models for p in m.parent_ids}
    standalone = {m.name for m in models if not m.parent_ids and m.id not in with_children}
    assert {"cnn-base", "resnet-base"} <= standalone
    shown = {s["name"]: s["box"] for s in map_report["standalone"]}
    assert set(shown) == standalone
    canvas, legend = map_report["canvas"], map_report["legend"]
    for name, box in shown.items():
        assert not overlap(box, legend), (name, box, legend)
        top, bottom = box["y"], box["y"] + box["height"]
        assert canvas["y"] <= top and bottom <= canvas["y"] + canvas["height"], (name, box)
    # the top of the map, not the bottom corner where they used to pile up
    assert max(b["y"] for b in shown.values()) < canvas["y"] + canvas["height"] / 3


def test_the_edge_label_and_tooltip_give_the_operation_and_the_change(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    label, tip = map_report["edgeLabel"], map_report["tooltip"]
    model = demo_ws.model(label["id"])
    assert model.operation is not None
    amount = model.operation.params["amount"]
    assert label["text"].startswith(f"{model.operation.name}(amount={amount}")
    parent = demo_ws.model(model.parent_ids[0])
    assert f"change vs {parent.name}" in tip["text"]
    # the accuracy change versus the parent, as formatted by the UI (3 decimals, minus sign)
    group, name = FILTER_KEY
    delta = model.metrics[group][name] - parent.metrics[group][name]
    sign = "−" if delta < 0 else "+"
    assert f"{sign}{abs(delta):.3f}" in tip["text"]


def test_hovering_an_edge_names_both_ends_and_the_operation(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    hover = map_report["edgeHover"]
    parent, child = demo_ws.model(hover["source"]), demo_ws.model(hover["target"])
    assert parent.id in child.parent_ids
    assert child.operation is not None
    assert hover["tooltip"].startswith(f"{parent.name} → {child.name}")
    assert child.operation.name in hover["tooltip"]
    assert hover["label"].startswith(child.operation.name)
    assert f"change vs {parent.name}" in hover["tooltip"]


def test_arrow_keys_walk_the_map_and_enter_selects(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    assert map_report["tabbable"] == 1
    first, second, root, child = map_report["keyboard"]
    by_id: dict[str, ModelInfo] = {m.id: m for m in demo_ws.models()}
    assert {by_id[first].name, by_id[second].name} == {"cnn-base", "resnet-base"}
    assert by_id[root].parent_ids == []
    assert by_id[child].parent_ids[0] == root  # → follows the chain from the root
    assert map_report["keyboardSelected"] == [child]


def test_a_url_filter_fades_exactly_the_models_outside_it(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    group, name = FILTER_KEY
    assert map_report["filterKey"] == f"{group}/{name}"
    lo, hi = FILTER_RANGE
    outside = {
        m.id
        for m in demo_ws.models()
        if not (lo <= m.metrics.get(group, {}).get(name, float("nan")) <= hi)
    }
    assert 0 < len(outside) < len(demo_ws.models())
    assert set(map_report["fadedMap"]) == outside
    # the scatter plots only models with values on its axes (the demo LMs have no image
    # accuracy): of those, exactly the ones outside the filter fade
    plotted = set(map_report["scatterIds"])
    assert plotted and set(map_report["fadedScatter"]) == outside & plotted


def accuracy(model: ModelInfo) -> float | None:
    group, name = FILTER_KEY
    value = model.metrics.get(group, {}).get(name)
    return value if isinstance(value, (int, float)) else None


def rgb(colour: str) -> tuple[int, ...]:
    """(r, g, b) of "#rrggbb" or "rgb(r, g, b)"."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])


def visibly_different(colours: list[str], min_distance: float = 40) -> int:
    """How many colours differ from each other by ≥ min_distance in RGB (a greedy set)."""
    kept: list[tuple[int, ...]] = []
    for c in map(rgb, colours):
        if all(math.dist(k, c) >= min_distance for k in kept):
            kept.append(c)
    return len(kept)


def test_the_models_between_085_and_090_get_visibly_different_colours(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    glance = map_report["glance"]
    assert glance["colourKey"] == "/".join(FILTER_KEY)
    close = {m.id for m in demo_ws.models() if (a := accuracy(m)) is not None and 0.85 <= a <= 0.9}
    assert len(close) >= 10
    assert set(glance["closeFills"]) == close
    assert visibly_different(list(glance["closeFills"].values())) >= 3


def test_edges_are_thick_and_coloured_one_per_parent_link(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    glance = map_report["glance"]
    models = demo_ws.models()
    ids = {m.id for m in models}
    assert glance["edgeCount"] == sum(len([p for p in m.parent_ids if p in ids]) for m in models)
    assert glance["edgeWidth"] >= 2.5
    assert glance["edgeColours"] >= 3
    assert glance["teacherDashed"]


def test_roots_apart_and_every_column_heading_inside_the_map(
    map_report: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    glance = map_report["glance"]
    models = demo_ws.models()
    assert set(glance["roots"]) == {m.id for m in models if not m.parent_ids}
    assert glance["rootOverlaps"] == []
    # one heading per operation (roots that were not trained here under "base"), none clipped
    expected = {
        m.operation.name
        if m.operation is not None and (m.parent_ids or m.operation.name.startswith("train"))
        else "base"
        for m in models
    }
    assert {c["key"] for c in glance["columns"]} == expected
    assert glance["clippedColumns"] == []


def test_edge_labels_cover_no_label_and_no_node_at_any_zoom(map_report: dict[str, Any]) -> None:
    steps = map_report["glance"]["labelSteps"]
    assert any(s["labels"] >= 2 for s in steps)
    assert all(s["overlaps"] == 0 for s in steps), map_report["glance"]["labelOverlaps"]


def test_at_1024_the_map_controls_are_apart_and_arrow_down_reaches_the_next_row(
    map_report: dict[str, Any],
) -> None:
    glance = map_report["glance"]
    assert glance["narrow"]["problems"] == []
    assert len(glance["narrow"]["controls"]) >= 5 and len(glance["narrow"]["expand"]) == 4
    down = glance["arrowDown"]
    assert down["toY"] == down["nextRowY"] and down["back"] == down["from"]


def test_the_map_screenshot_is_taken_and_copied_to_the_docs_on_request(
    map_report: dict[str, Any],
) -> None:
    """The README's Web UI figure is the 1440×900 map this pass took; E2E_UPDATE_DOCS=1 copies
    it to docs/images/model-map.png (the lead runs it and commits the image)."""
    shot = Path(map_report["mapShot"])
    assert shot.name == "map-01-demo-1440.png" and shot.is_file()
    assert shot.with_name("map-01-demo-1024.png").is_file()
    if os.environ.get("E2E_UPDATE_DOCS") == "1":
        target = REPO / "docs" / "images" / "model-map.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
