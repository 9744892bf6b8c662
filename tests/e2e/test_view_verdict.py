"""The verdict badge in chromium: what it showed is Workspace.verdict's call for the pair."""

from __future__ import annotations

import pytest
from e2e_harness import needs_browser, view_report

import compresslens as cl

pytestmark = needs_browser


@pytest.fixture(scope="module")
def rec(demo_report: dict) -> dict:
    return view_report(demo_report, "verdict")


@pytest.mark.parametrize(("case", "verdict"), [("int8", "equivalent"), ("magnitude", "regression")])
def test_the_badge_shows_the_python_verdict(
    rec: dict, demo_ws: cl.Workspace, case: str, verdict: str
) -> None:
    shown = rec["cases"][case]
    expected = demo_ws.verdict(shown["base"], shown["model"])
    assert shown["verdict"] == expected.verdict == verdict
