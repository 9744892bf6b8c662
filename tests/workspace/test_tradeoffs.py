"""Behaviour metrics against the root, the Pareto frontier, and a model's exported recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import compresslens as cl
from compresslens.errors import InvalidChoiceError, NotFoundError
from compresslens.run import parse_recipe, run_recipe
from compresslens.workspace import behaviour_metrics
from factories import MLP_FACTORY


def direct_kld(base_logits: torch.Tensor, logits: torch.Tensor) -> float:
    """mean KL(base ‖ model) over instances, in float64."""
    log_p = torch.log_softmax(base_logits.double(), dim=1)
    log_q = torch.log_softmax(logits.double(), dim=1)
    return float((log_p.exp() * (log_p - log_q)).sum(dim=1).mean())


def test_logged_models_get_flip_metrics_against_their_lineage_root(prunings: cl.Workspace) -> None:
    metrics = {m.name: m.metrics["abc"] for m in prunings.models()}
    # p5: instances 8, 9 (class c) right → wrong; p8: 8–11 and 0
    assert metrics["p5"]["negative_flip_rate"] == pytest.approx(2 / 12)
    assert metrics["p8"]["negative_flip_rate"] == pytest.approx(5 / 12)
    assert metrics["p5"]["worst_class_change"] == pytest.approx(-0.5)
    assert metrics["p8"]["worst_class_change"] == pytest.approx(-1.0)
    assert metrics["p8"]["positive_flip_rate"] == 0.0
    # p5-ft's root is base (through p5), not its parent: the same flips as p5
    assert metrics["p5-ft"]["negative_flip_rate"] == pytest.approx(2 / 12)
    assert metrics["base"]["negative_flip_rate"] == 0.0  # the root is its own reference
    expected = direct_kld(prunings.logits("base", "abc"), prunings.logits("p8", "abc"))
    assert metrics["p8"]["kld_mean"] == pytest.approx(expected, rel=1e-4)


def test_an_evaluation_stores_the_flip_metrics_of_the_evaluated_model(
    pruned: cl.Workspace,
) -> None:
    base, child = pruned.outputs("mlp", "digits"), pruned.outputs("mlp-70", "digits")
    was_right = base["prediction"] == base["label"]
    is_right = child["prediction"] == child["label"]
    metrics = pruned.model("mlp-70").metrics["digits"]
    assert metrics["negative_flip_rate"] == pytest.approx(np.mean(was_right & ~is_right))
    assert metrics["positive_flip_rate"] == pytest.approx(np.mean(~was_right & is_right))
    per_class = [
        is_right[base["label"] == c].mean() - was_right[base["label"] == c].mean()
        for c in range(10)
    ]
    assert metrics["worst_class_change"] == pytest.approx(min(per_class))
    expected = direct_kld(pruned.logits("mlp", "digits"), pruned.logits("mlp-70", "digits"))
    assert metrics["kld_mean"] == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_models_evaluated_before_are_backfilled_once(
    prunings_without_behaviour: cl.Workspace,
) -> None:
    ws = prunings_without_behaviour
    assert all("negative_flip_rate" not in m.metrics["abc"] for m in ws.models())
    written = ws.behaviour_metrics()
    assert sorted(r["model"] for r in written) == ["base", "p5", "p5-ft", "p8"]
    assert ws.model("p8").metrics["abc"]["negative_flip_rate"] == pytest.approx(5 / 12)
    assert ws.behaviour_metrics() == []  # nothing missing any more
    assert len(ws.behaviour_metrics(force=True)) == 4


@pytest.fixture
def prunings_without_behaviour(
    prunings: cl.Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> cl.Workspace:
    """The prunings fixture's models as a workspace evaluated before the metrics existed."""
    monkeypatch.setattr(behaviour_metrics, "backfill", lambda *a, **k: [])
    ws = cl.Workspace(tmp_path / "before")
    arrays = prunings.load_dataset("abc")
    ws.add_dataset("abc", arrays.inputs, arrays.labels, class_names="abc")
    for info in sorted(prunings.models(), key=lambda m: m.created_at):
        parents = [prunings.model(p).name for p in info.parent_ids]
        operation = None if info.operation is None else {"name": info.operation.name}
        outputs = {"abc": prunings.logits(info.id, "abc")}
        ws.log_model(info.name, parents=parents, operation=operation, outputs=outputs)
    monkeypatch.undo()
    return ws


def names(rows: list[dict]) -> list[str]:
    return [r["name"] for r in rows]


def test_the_frontier_over_size_flips_and_accuracy(sized: cl.Workspace) -> None:
    found = sized.pareto(["bytes", "nfr", "accuracy"])
    assert found["dataset"] == "abc"
    assert [(o["metric"], o["direction"], o["group"]) for o in found["objectives"]] == [
        ("compressed_bytes", "min", "model"),
        ("negative_flip_rate", "min", "abc"),
        ("accuracy", "max", "abc"),
    ]
    # best first on the first objective; the tie p5 / p5-ft both stay
    assert names(found["frontier"]) == ["p8", "p5", "p5-ft", "base"]
    assert names(found["dominated"]) == ["p8-big"]
    assert found["excluded"] == [
        {
            "id": sized.model("unsized").id,
            "name": "unsized",
            "values": {"compressed_bytes": None, "negative_flip_rate": 5 / 12, "accuracy": 7 / 12},
            "missing": ["compressed_bytes"],
        }
    ]
    assert found["frontier"][0]["values"] == {
        "compressed_bytes": 20.0,
        "negative_flip_rate": pytest.approx(5 / 12),
        "accuracy": pytest.approx(7 / 12),
    }


def test_a_direction_can_be_overridden(sized: cl.Workspace) -> None:
    # bigger is "better" now: base (largest, most accurate) alone beats every other model
    found = sized.pareto(["bytes:max", "accuracy"], dataset="abc")
    assert names(found["frontier"]) == ["base"]


def test_bad_objectives_are_refused_with_what_exists(sized: cl.Workspace) -> None:
    with pytest.raises(NotFoundError, match=r"no model has the metric 'acuracy'.*known:.*accuracy"):
        sized.pareto(["bytes", "acuracy"])
    with pytest.raises(InvalidChoiceError, match="min or max"):
        sized.pareto(["bytes", "accuracy:up"])
    with pytest.raises(InvalidChoiceError, match="at least two"):
        sized.pareto(["bytes"])
    with pytest.raises(NotFoundError):
        sized.pareto(["bytes", "accuracy"], dataset="nope")


def test_an_exported_recipe_rebuilds_the_identical_model_in_a_fresh_workspace(
    digits_workspace: cl.Workspace,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp: torch.nn.Module,
    tmp_path: Path,
) -> None:
    ws = digits_workspace
    # as sensitivity would: the first layer left out of the pruning by an exclude list
    ws.compress("mlp", "prune.magnitude", amount=0.6, exclude=["body.0"], name="pruned")
    tuned = ws.compress("pruned", "train.finetune", dataset="digits", epochs=1, seed=0)
    text = ws.export_recipe(tuned)
    recipe = parse_recipe(text)
    assert recipe.base.model == "mlp"
    assert [s.op for s in recipe.stages] == ["prune.magnitude", "train.finetune"]
    assert recipe.stages[0].params["exclude"] == ["body.0"]

    fresh = cl.Workspace(tmp_path / "fresh")
    inputs, labels = digits
    fresh.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
    fresh.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    summary = run_recipe(recipe, fresh)
    assert summary.counts["failed"] == 0
    rebuilt = fresh.model(tuned.id)  # the same content id
    original, again = ws.load_model(tuned).state_dict(), fresh.load_model(rebuilt).state_dict()
    assert original.keys() == again.keys()
    assert all(torch.equal(original[k], again[k]) for k in original)
    fresh.close()


def test_kept_modules_join_every_exclude_list_and_stay_the_roots(
    digits_workspace: cl.Workspace,
    digits: tuple[torch.Tensor, torch.Tensor],
    trained_mlp: torch.nn.Module,
    tmp_path: Path,
) -> None:
    """The recipe from attribution: the same chain with its greedy set left uncompressed."""
    ws = digits_workspace
    pruned = ws.compress("mlp", "prune.magnitude", amount=0.6, name="p60")
    text = ws.export_recipe(pruned, keep=["classifier", "classifier"])
    recipe = parse_recipe(text)
    assert recipe.stages[0].params["exclude"] == ["classifier"]
    assert "keeping classifier" in text.splitlines()[1]
    excluded = ws.compress("mlp", "prune.magnitude", amount=0.5, exclude=["body.0"])
    again = parse_recipe(ws.export_recipe(excluded, keep=["classifier"]))
    assert again.stages[0].params["exclude"] == ["body.0", "classifier"]

    fresh = cl.Workspace(tmp_path / "fresh")
    inputs, labels = digits
    fresh.add_dataset("digits", inputs, labels, class_names=[str(i) for i in range(10)])
    fresh.add_model(trained_mlp, name="mlp", factory=MLP_FACTORY)
    assert run_recipe(recipe, fresh).counts["failed"] == 0
    (made,) = [m for m in fresh.models() if m.name != "mlp"]
    weights = fresh.load_model(made).state_dict()
    root = trained_mlp.state_dict()
    assert torch.equal(weights["classifier.weight"], root["classifier.weight"])  # kept
    assert not torch.equal(weights["body.0.weight"], root["body.0.weight"])  # still pruned
    fresh.close()
    tuned = ws.compress("mlp", "train.finetune", dataset="digits", epochs=1)
    with pytest.raises(InvalidChoiceError, match="takes an exclude list"):
        ws.export_recipe(tuned, keep=["classifier"])


def test_a_root_or_a_logged_step_has_no_recipe(sized: cl.Workspace) -> None:
    with pytest.raises(InvalidChoiceError, match="is a root"):
        sized.export_recipe("base")
    with pytest.raises(InvalidChoiceError, match="not a registered operation"):
        sized.export_recipe("p5-ft")


def test_a_child_evaluated_before_its_root_gets_its_metrics_when_the_root_is(
    digits_workspace: cl.Workspace,
) -> None:
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.9, name="mlp-90")
    ws.evaluate("mlp-90", "digits", latency=False)
    assert "negative_flip_rate" not in ws.model("mlp-90").metrics["digits"]  # no reference yet
    ws.evaluate("mlp", "digits", latency=False)
    assert ws.model("mlp-90").metrics["digits"]["negative_flip_rate"] > 0
    assert ws.model("mlp").metrics["digits"]["negative_flip_rate"] == 0.0
