"""transitions / calibration / instances / layer-histogram: the UI's pair views on the
command line, with exact expectations on hand-made outputs."""

from __future__ import annotations

import json
import math

import pytest
from cli_runner import succeeds

import compresslens as cl


def as_json(*arguments: str) -> dict:
    return json.loads(succeeds(*arguments, "--json"))


def test_transitions_count_each_base_prediction_against_the_models(
    one_class_lost: cl.Workspace,
) -> None:
    document = as_json("transitions", "base", "lossy", "-w", one_class_lost.location)
    assert document["class_names"] == ["a", "b", "c"]
    assert document["matrix"] == [[40, 0, 0], [0, 40, 0], [30, 0, 10]]
    assert (document["base"]["name"], document["model"]["name"]) == ("base", "lossy")


def test_transitions_text_shows_the_matrix_rows(one_class_lost: cl.Workspace) -> None:
    text = succeeds("transitions", "base", "lossy", "-w", one_class_lost.location)
    assert text.splitlines()[-1].split() == ["c", "30", "0", "10"]


def test_calibration_reports_both_eces(one_class_lost: cl.Workspace) -> None:
    # logits are one-hot: every confidence is softmax(1, 0, 0)[0] = e / (e + 2)
    confidence = math.e / (math.e + 2)
    document = as_json("calibration", "base", "lossy", "-w", one_class_lost.location)
    assert document["base_ece"] == pytest.approx(1 - confidence, abs=1e-6)  # all right
    assert document["ece"] == pytest.approx(0.75 - confidence, abs=1e-6)  # 90 of 120 right
    assert set(document) >= {"base_reliability", "reliability"}


def test_instances_lists_one_row_per_instance_with_its_flip(
    one_class_lost: cl.Workspace,
) -> None:
    document = as_json("instances", "base", "lossy", "-w", one_class_lost.location)
    rows = document["rows"]
    assert len(rows) == 120
    flipped = [row["instance"] for row in rows if row["flip"] != "unchanged"]
    assert flipped == list(range(80, 110))
    assert {row["flip"] for row in rows if row["instance"] in flipped} == {"correct_to_incorrect"}
    assert rows[85]["prediction"] == 0 and rows[85]["base_prediction"] == 2


def test_instances_changed_keeps_only_the_flipped_rows(one_class_lost: cl.Workspace) -> None:
    document = as_json("instances", "base", "lossy", "--changed", "-w", one_class_lost.location)
    assert [row["instance"] for row in document["rows"]] == list(range(80, 110))


def test_layer_histogram_overlays_both_models_weights_of_one_module(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="mlp-50")
    for name in ("mlp", "mlp-50"):  # a comparison is on a dataset both were evaluated on
        ws.evaluate(name, "digits", latency=False)
    arguments = ("mlp", "mlp-50", "classifier", "--bins", "8", "-d", "digits", "-w", ws.location)
    document = as_json("layer-histogram", *arguments)
    assert document["module"] == "classifier"
    assert len(document["edges"]) == 9
    numel = document["numel"]
    assert numel["base"] == numel["model"] > 0
    assert document["zeros"]["model"] == numel["model"] // 2
    assert sum(document["counts"]["model"]) == numel["model"]


def test_instances_filter_sort_and_page_as_the_view_does(one_class_lost: cl.Workspace) -> None:
    document = as_json(
        "instances", "base", "lossy", "--flip", "unchanged", "--label", "2", "--descending",
        "--offset", "1", "--limit", "3", "-w", one_class_lost.location,
    )  # fmt: skip
    assert document["total"] == 10  # instances 110-119 of class c kept their prediction
    assert [row["instance"] for row in document["rows"]] == [118, 117, 116]
    assert (document["base"]["name"], document["model"]["name"]) == ("base", "lossy")
