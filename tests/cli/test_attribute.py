"""`compresslens attribute A B`: the ranked table, the greedy set, --json, --class, --flips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cli_runner import fails, succeeds

from planted_flips import DAMAGED_LAYER, planted_workspace


@pytest.fixture(scope="module")
def location(
    tmp_path_factory: pytest.TempPathFactory,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp_state: dict[str, torch.Tensor],
) -> str:
    folder = tmp_path_factory.mktemp("attribute") / "ws"
    planted_workspace(folder, digits, trained_mlp_state).close()
    return str(folder)


def test_json_names_the_damaged_layer_first(location: str) -> None:
    document = json.loads(succeeds("attribute", "mlp", "mlp-damaged", "-w", location, "--json"))
    assert document["rows"][0]["module"] == DAMAGED_LAYER
    assert document["rows"][0]["undone_share"] == 1.0
    assert [step["module"] for step in document["greedy"]] == [DAMAGED_LAYER]
    assert document["cost"]["control"] == 256 and document["context"]["groups"] == "modules"


def test_text_prints_the_ranked_table_and_the_greedy_set(location: str) -> None:
    text = succeeds("attribute", "mlp", "mlp-damaged", "-w", location, "--control", "0")
    lines = text.splitlines()
    table = lines[lines.index(next(x for x in lines if "undone" in x)) + 1 :]
    assert table[0].split()[0] == DAMAGED_LAYER and "100.0%" in table[0]
    assert f"greedy set: {DAMAGED_LAYER} (100.0%); reaches 90%" in text


def test_class_and_flip_kind_options_reach_the_facade(location: str) -> None:
    arguments = ("attribute", "mlp", "mlp-damaged", "-w", location, "--control", "0", "--json")
    every = json.loads(succeeds(*arguments, "--flips", "any"))
    label = max(every["by_class"], key=lambda row: row["flips"])["label"]
    one = json.loads(succeeds(*arguments, "--flips", "any", "--class", str(label)))
    assert one["context"]["flip_kind"] == "any" and one["context"]["class"] == label
    assert [row["label"] for row in one["by_class"]] == [label]


def test_bad_options_are_a_clear_error(location: str) -> None:
    base = ("attribute", "mlp", "mlp-damaged", "-w", location)
    assert "--flips must be one of" in fails(*base, "--flips", "worse")
    assert "has no class 'eleven'" in fails(*base, "--class", "eleven")
    assert "groups must be one of" in fails(*base, "--groups", "layers")


def test_recipe_writes_the_chain_keeping_the_greedy_set(location: str, tmp_path: Path) -> None:
    """The attribution's greedy set exported as the recipe that leaves it uncompressed."""
    import compresslens as cl
    from compresslens.run import parse_recipe

    ws = cl.Workspace(location)
    pruned = ws.compress("mlp", "prune.magnitude", amount=0.8, name="mlp-80")
    ws.evaluate(pruned, "digits", latency=False)
    ws.close()
    out = tmp_path / "keep.yaml"
    document = json.loads(
        succeeds("attribute", "mlp", "mlp-80", "-w", location, "--recipe", str(out), "--json")
    )
    greedy = [step["module"] for step in document["greedy"]]
    assert greedy and out.is_file()
    recipe = parse_recipe(out.read_text())
    assert recipe.stages[0].op == "prune.magnitude"
    assert recipe.stages[0].params["exclude"] == greedy
