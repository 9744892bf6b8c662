"""The demo language model in chromium: Behaviours on the held-out tokens, the LM metrics in the
map, scatter and filters, and the Layers view of the norm-pruned child (the case study).

The workspace is a COPY of the e2e demo workspace (conftest's `demo_workspace_path`, built by
`compresslens demo --no-serve`, which trains the demo LM and runs its sweep), so jobs this
pass starts never write into the shared one. views/lm.mjs drives it and records what it saw;
these tests compare that with the Python API on the same workspace.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import REPO, Server, drive, needs_browser, view_report

import compresslens as cl

pytestmark = [*needs_browser, pytest.mark.slow]

LM = "lm-base"
HELD_OUT = "lm-held-out"


@pytest.fixture(scope="module")
def lm_ws(
    demo_workspace_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[cl.Workspace]:
    copy = tmp_path_factory.mktemp("lm-workspace") / "ws"
    shutil.copytree(demo_workspace_path, copy)
    ws = cl.Workspace(copy)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def shown(lm_ws: cl.Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict:
    screenshots = Path(os.environ.get("E2E_SCREENSHOTS", REPO / "build" / "e2e-screenshots"))
    log = tmp_path_factory.mktemp("lm-server") / "server.log"
    with Server(Path(lm_ws.location), log) as server:
        report = drive(server.url, screenshots / "lm", views="lm", timeout=900)
    assert report["returncode"] == 0, f"{report['stderr']}\n{report['checks']}"
    return view_report(report, "lm")


def test_the_flipped_token_counts_are_the_python_apis(shown: dict, lm_ws: cl.Workspace) -> None:
    summary = lm_ws.token_comparison(LM, shown["model"], HELD_OUT)
    assert shown["counts"]["correct_to_incorrect"] == summary["correct_to_incorrect"]["count"] > 0
    assert shown["counts"]["incorrect_to_correct"] == summary["incorrect_to_correct"]["count"]
    assert shown["counts"]["tokens"] == summary["tokens"]
    assert shown["flips"]["rows"] == (
        summary["correct_to_incorrect"]["count"] + summary["incorrect_to_correct"]["count"]
    )


def test_the_text_is_coloured_by_agreement_and_by_kld(shown: dict, lm_ws: cl.Workspace) -> None:
    text = shown["text"]
    flips = lm_ws.token_differences(LM, shown["model"], HELD_OUT)["flip"][: text["shown"]]
    assert text["agreement"].get("correct_to_incorrect", 0) == int((flips == 1).sum())
    assert text["agreement"].get("incorrect_to_correct", 0) == int((flips == 2).sum())
    assert "base top-1" in text["firstFlipTitle"] and "KLD" in text["firstFlipTitle"]
    assert text["kldBackgrounds"] > 2 and text["kldOrder"]


def test_flips_sort_by_the_base_margin_and_open_their_token(shown: dict) -> None:
    flips = shown["flips"]
    assert flips["sortedAscending"] and len(flips["margins"]) > 0
    assert flips["markedAgreement"] in flips["kinds"]


def test_a_diverging_generated_token_is_marked(shown: dict, lm_ws: cl.Workspace) -> None:
    expected = lm_ws.compare_generations(LM, shown["model"], HELD_OUT)["prompts"]
    rows = shown["generations"]
    assert [r["first"] for r in rows] == [p["first_divergence"] for p in expected]
    assert any(r["first"] is not None for r in rows)
    for row in rows:  # one mark per side, exactly at the first divergence
        assert row["marks"] == ([] if row["first"] is None else [row["first"], row["first"]])


def test_the_lm_metrics_are_in_the_map_scatter_and_filters_and_images_keep_theirs(
    shown: dict,
) -> None:
    for names in (shown["metrics"]["color"], shown["metrics"]["x"], shown["metrics"]["filters"]):
        assert f"Perplexity · {HELD_OUT}" in names
        assert f"Same top-1 token rate · {HELD_OUT}" in names
        assert any(n.startswith("Top-1 accuracy · ") for n in names)  # the image metrics


def test_the_layers_view_shows_the_pruned_norms(shown: dict, lm_ws: cl.Workspace) -> None:
    layers = shown["layers"]
    pruned, kept = layers[shown["model"]], layers[shown["kept"]]
    norms = [m for m in pruned if "norm" in m.lower()]
    assert norms and set(norms) <= set(layers["visibleNorms"])
    assert any(float(pruned[m]) > 0 for m in norms)
    assert all(float(kept[m]) == 0 for m in norms)
    for kind in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert any(m.endswith(kind) for m in pruned), kind
    expected = lm_ws.compare(LM, shown["model"]).layers()
    python = {row["module"]: row["model"]["sparsity"] for row in expected["modules"]}
    assert {m: float(pruned[m]) for m in python} == pytest.approx(python, abs=1e-12)
