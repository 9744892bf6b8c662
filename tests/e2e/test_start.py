"""The page's starting point on the demo workspace (issue 13, items 3 and 10).

views/start.mjs loads the page, reloads a shared link and walks the keyboard in the one
chromium pass; these tests check the bases it saw against the Python API and that the parts
that must be on screen were (the boxes it measured at 1440×900).
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser

VIEWPORT_HEIGHT = 900


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict[str, Any]:
    return view_report(demo_report, "start")


def descendant_counts(ws: cl.Workspace) -> dict[str, int]:
    """How many models descend from each model, through any parent."""
    children: dict[str, list[str]] = {}
    for m in ws.models():
        for p in m.operation.parents if m.operation else []:
            children.setdefault(p["id"], []).append(m.id)
    counts = {}
    for m in ws.models():
        seen: set[str] = set()
        frontier = list(children.get(m.id, []))
        while frontier:
            c = frontier.pop()
            if c not in seen:
                seen.add(c)
                frontier.extend(children.get(c, []))
        counts[m.id] = len(seen)
    return counts


def test_the_default_base_is_the_root_with_most_descendants(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    counts = descendant_counts(demo_ws)
    roots = [m for m in demo_ws.models() if not (m.operation and m.operation.parents)]
    best = max(roots, key=lambda m: counts[m.id])
    # the CNN family's root, not a standalone model tagged "base"
    assert counts[best.id] > 10
    assert "base" not in best.tags
    assert rec["headerBase"] == best.name


def test_a_restored_selection_compares_with_its_shared_ancestor(
    rec: dict[str, Any], demo_ws: cl.Workspace
) -> None:
    restored = rec["restored"]
    parents = {demo_ws.model(m).operation.parents[0]["id"] for m in restored["selected"]}
    assert parents == {restored["base"]}
    assert restored["headerBase"] == demo_ws.model(restored["base"]).name


def test_the_tab_strip_and_a_restored_view_are_on_screen(rec: dict[str, Any]) -> None:
    strip = rec["tabStrip"]
    assert strip["y"] >= 0 and strip["y"] + strip["height"] <= VIEWPORT_HEIGHT
    panel = rec["restored"]["panel"]
    assert panel["y"] < VIEWPORT_HEIGHT - 150


def test_the_keyboard_starts_at_the_skip_link_and_stays_in_the_selection_panel(
    rec: dict[str, Any],
) -> None:
    for size in ("1440", "1024"):
        assert "skip to analysis views" in rec[f"skipLink{size}"]["first"]["text"].lower()
        assert rec[f"skipLink{size}"]["after"]["inTablist"]
    assert rec["suggestionFocus"]["focus"]["inSelectionPanel"]
