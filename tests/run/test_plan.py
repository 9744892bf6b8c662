"""Expanding a recipe: grids × seeds × parents, with the ids the workspace will give."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import BASE_RECIPE, recipe_from

import compresslens as cl
from compresslens.ids import derived_model_id, trained_model_id
from compresslens.run import RecipeError, build_plan
from compresslens.run.plan import TRAIN_OP


def test_grid_times_population_gives_the_expected_nodes(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("seeds: 2", "seeds: 3").replace(
        "grid: {factor: [0.5, 2.0]}", "grid: {factor: [0.5, 2.0], mode: [a, b]}"
    )
    plan = build_plan(recipe_from(tmp_path, text))
    assert len(plan.stage_nodes("base")) == 3
    scaled = plan.stage_nodes("scaled")
    assert len(scaled) == 3 * 2 * 2
    assert {(n.seed, n.params["factor"], n.params["mode"]) for n in scaled} == {
        (s, f, m) for s in range(3) for f in (0.5, 2.0) for m in ("a", "b")
    }
    assert len({n.id for n in plan}) == len(plan) == 15


def test_ids_are_the_ones_training_and_compress_compute(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    plan = build_plan(recipe)
    train = {"dataset": "digits", "epochs": 1, "batch_size": 256}
    train_params = {**train, "lr": 2e-3, "limit": None, "weight_decay": 0.0}
    train_params["lr_schedule"] = "constant"
    for seed in (0, 1):
        base = next(n for n in plan.stage_nodes("base") if n.seed == seed)
        assert base.op == TRAIN_OP and base.kind == "train"
        assert base.id == trained_model_id("factories:digits_mlp", {}, train_params, seed)
        for node in (n for n in plan.stage_nodes("scaled") if n.seed == seed):
            assert node.parent == base.id and node.kind == "compress"
            # parameters are normalized: the default mode is filled in, as compress stores it
            assert node.params == {"factor": node.params["factor"], "mode": "all"}
            assert node.id == derived_model_id(
                [(base.id, "input")], "sweep.scale", node.params, seed
            )


def test_ids_match_planned_id_of_an_existing_base(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    text = BASE_RECIPE.replace(
        "  factory: factories:digits_mlp\n"
        "  train: {dataset: digits, epochs: 1, batch_size: 256}\n"
        "  seeds: 2\n",
        "  model: mlp\n",
    )
    mlp = digits_workspace.model("mlp")
    plan = build_plan(recipe_from(tmp_path, text), base_model_id=mlp.id)
    assert [n.kind for n in plan.stage_nodes("base")] == ["existing"]
    for node in plan.stage_nodes("scaled"):
        factor = node.params["factor"]
        assert node.id == digits_workspace.planned_id("mlp", "sweep.scale", factor=factor)


def test_an_existing_base_with_seeds_shares_one_base_node(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    text = BASE_RECIPE.replace(
        "  factory: factories:digits_mlp\n  train: {dataset: digits, epochs: 1, batch_size: 256}\n",
        "  model: mlp\n",
    )
    plan = build_plan(recipe_from(tmp_path, text), base_model_id="m" * 16)
    assert len(plan.stage_nodes("base")) == 1
    assert {(n.seed, n.parent) for n in plan.stage_nodes("scaled")} == {
        (0, "m" * 16),
        (1, "m" * 16),
    }


def test_seed_subsets_are_inherited_by_children(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("seeds: 2", "seeds: 5") + (
        "  - {name: only0, op: sweep.scale, params: {factor: 3.0}, seeds: [0]}\n"
        "  - {name: child, parent: only0, op: sweep.scale, grid: {factor: [1.5, 2.5]}}\n"
    )
    plan = build_plan(recipe_from(tmp_path, text))
    assert len(plan.stage_nodes("scaled")) == 10
    assert [n.seed for n in plan.stage_nodes("only0")] == [0]
    assert [n.seed for n in plan.stage_nodes("child")] == [0, 0]
    assert len(plan) == 5 + 10 + 1 + 2


def test_children_of_a_grid_stage_multiply_and_carry_its_choices(tmp_path: Path) -> None:
    text = BASE_RECIPE + (
        "  - {name: again, parent: scaled, op: sweep.scale, params: {factor: 1.5},"
        " grid: {mode: [x, y]}}\n"
    )
    plan = build_plan(recipe_from(tmp_path, text))
    again = plan.stage_nodes("again")
    assert len(again) == 2 * 2 * 2
    labels = {n.label for n in again}
    assert "again factor=0.5 mode=x seed=0" in labels
    assert all(n.name.startswith("again[factor=") for n in again)


def test_teacher_is_the_same_seed_node_of_the_teacher_stage(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: blended, parent: scaled, op: sweep.blend, teacher: base}\n"
    plan = build_plan(recipe_from(tmp_path, text))
    base_of = {n.seed: n.id for n in plan.stage_nodes("base")}
    blended = plan.stage_nodes("blended")
    assert len(blended) == 4
    for node in blended:
        assert node.teacher == base_of[node.seed]
        parents = [(node.parent, "input"), (node.teacher, "teacher")]
        assert node.id == derived_model_id(parents, "sweep.blend", node.params, node.seed)


def test_nodes_come_after_their_parents_whatever_the_file_order(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("stages:\n", "stages:\n  - {name: late, parent: scaled, op: x}\n")
    text = text.replace("op: x", "op: sweep.blend, teacher: base")
    plan = build_plan(recipe_from(tmp_path, text))
    position = {n.id: i for i, n in enumerate(plan)}
    for node in plan:
        assert all(position[p] < position[node.id] for p in node.parents)
    assert plan.stages == ("base", "scaled", "late")


def test_two_stages_making_the_same_model_are_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: same, op: sweep.scale, params: {factor: 2.0}}\n"
    with pytest.raises(RecipeError, match="would be the same model"):
        build_plan(recipe_from(tmp_path, text))


def test_descendants_follow_inputs_and_teachers(tmp_path: Path) -> None:
    text = BASE_RECIPE + (
        "  - {name: t, op: sweep.scale, params: {factor: 3.0}}\n"
        "  - {name: s, parent: scaled, op: sweep.blend, teacher: t}\n"
    )
    plan = build_plan(recipe_from(tmp_path, text))
    teacher0 = next(n for n in plan.stage_nodes("t") if n.seed == 0)
    assert plan.descendants(teacher0.id) == {n.id for n in plan.stage_nodes("s") if n.seed == 0}
