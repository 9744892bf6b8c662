"""A bad recipe fails before anything runs, with a message naming the file, line and place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import BASE_RECIPE, line_of, recipe_from, write_recipe

import compresslens as cl
from compresslens.run import RecipeError, load_recipe, run_recipe


def test_the_base_recipe_is_valid(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    assert [s.name for s in recipe.stages] == ["scaled"]
    assert recipe.base.seed_list == [0, 1]


def expect_error(tmp_path: Path, text: str, *fragments: str, line_with: str | None = None) -> str:
    with pytest.raises(RecipeError) as caught:
        recipe_from(tmp_path, text)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    if line_with is not None:
        assert f"recipe.yaml:{line_of(text, line_with)}" in message, message
    return message


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("seeds: 2", "seeds: [2")
    expect_error(tmp_path, text, "malformed YAML", "recipe.yaml:")


def test_a_recipe_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    expect_error(tmp_path, "- just\n- a list\n", "a recipe must be a mapping")


def test_unknown_operation_suggests_the_close_one(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("op: sweep.scale", "op: sweep.scal")
    expect_error(
        tmp_path,
        text,
        "stages[0].op",
        "unknown operation 'sweep.scal'",
        "did you mean 'sweep.scale'",
        line_with="op: sweep.scal",
    )


def test_bad_parameter_at_one_grid_point_names_the_point(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("[0.5, 2.0]", "[0.5, -1]")
    expect_error(
        tmp_path,
        text,
        "stages[0].grid: grid point {factor=-1}: bad parameters for sweep.scale",
        "factor",
        "greater than 0",
        line_with="grid:",
    )


def test_unknown_parameter_name_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("    grid: {factor: [0.5, 2.0]}", "    params: {factr: 2}")
    expect_error(tmp_path, text, "stages[0].params", "factr", line_with="params:")


def test_a_grid_axis_that_is_also_a_fixed_param_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("    grid:", "    params: {factor: 1.0}\n    grid:")
    expect_error(tmp_path, text, "factor is both a fixed param and a grid axis")


def test_empty_grid_axis_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("[0.5, 2.0]", "[]")
    expect_error(tmp_path, text, "grid values of factor are empty")


def test_unknown_parent_stage_suggests_the_close_one(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: again, parent: scaeld, op: sweep.scale, params: {factor: 3}}\n"
    expect_error(
        tmp_path,
        text,
        "stages[1].parent",
        "unknown parent stage 'scaeld'",
        "did you mean 'scaled'",
        line_with="parent: scaeld",
    )


def test_unknown_teacher_stage_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: b, op: sweep.blend, teacher: nobody}\n"
    expect_error(tmp_path, text, "stages[1].teacher", "unknown teacher stage 'nobody'")


def test_cycle_between_stages_is_named(tmp_path: Path) -> None:
    text = BASE_RECIPE + (
        "  - {name: a, parent: b, op: sweep.scale, params: {factor: 3}}\n"
        "  - {name: b, parent: a, op: sweep.scale, params: {factor: 3}}\n"
    )
    expect_error(tmp_path, text, "cycle: a -> b -> a", line_with="name: a,")


def test_a_teacher_edge_can_close_a_cycle(tmp_path: Path) -> None:
    text = BASE_RECIPE + (
        "  - {name: a, op: sweep.blend, teacher: b}\n  - {name: b, parent: a, op: sweep.blend}\n"
    )
    expect_error(tmp_path, text, "cycle", "a -> b -> a")


def test_duplicate_stage_names_point_at_both(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: scaled, op: sweep.scale, params: {factor: 3}}\n"
    expect_error(
        tmp_path,
        text,
        "duplicate stage name 'scaled'",
        f"first used at line {line_of(BASE_RECIPE, 'name: scaled')}",
        line_with="name: scaled, op",
    )


def test_base_is_a_reserved_stage_name(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("name: scaled", "name: base")
    expect_error(tmp_path, text, "stages[0].name", "'base' is the name of the base population")


def test_evaluation_on_an_undeclared_dataset_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("datasets: [digits]", "datasets: [digitz]")
    expect_error(
        tmp_path,
        text,
        "evaluate.datasets[0]",
        "dataset 'digitz' is not declared",
        "did you mean 'digits'",
        line_with="datasets: [digitz]",
    )


def test_an_op_parameter_naming_an_undeclared_dataset_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: tuned, op: train.finetune, params: {dataset: train}}\n"
    expect_error(tmp_path, text, "stages[1].params.dataset", "dataset 'train' is not declared")


def test_stage_seeds_must_be_distinct(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("    grid:", "    seeds: [0, 0]\n    grid:")
    expect_error(tmp_path, text, "stages[0].seeds", "distinct seeds", line_with="seeds: [0, 0]")


def test_training_on_an_undeclared_dataset_is_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("train: {dataset: digits", "train: {dataset: mnist")
    expect_error(tmp_path, text, "base.train.dataset", "'mnist' is not declared")


def test_a_declared_dataset_missing_from_the_workspace_fails_before_training(
    tmp_path: Path,
) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    ws = cl.Workspace(tmp_path / "empty")
    with pytest.raises(RecipeError, match=r"recipe.yaml:\d+: datasets.digits: .*not in workspace"):
        run_recipe(recipe, ws)
    assert ws.models() == []


def test_unknown_keys_are_typos_not_ignored(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("stages:", "stagez:")
    expect_error(tmp_path, text, "stagez", "Extra inputs are not permitted", line_with="stagez:")


def test_a_missing_base_is_named(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("base:", "bass:")
    expect_error(tmp_path, text, "base: Field required", "bass")


def test_bad_training_parameter_names_its_place(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("epochs: 1", "epochs: 0")
    expect_error(tmp_path, text, "base.train.epochs", "greater than or equal to 1")


def test_base_needs_a_factory_or_a_model_not_both(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("  seeds: 2", "  seeds: 2\n  model: mlp")
    expect_error(tmp_path, text, "base", "either model")


def test_stage_seeds_must_be_seeds_of_the_parent(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("    grid:", "    seeds: [0, 7]\n    grid:")
    expect_error(tmp_path, text, "stages[0].seeds", "seeds [7] are not seeds of parent 'base'")


def test_a_child_inherits_its_parents_seeds_and_cannot_widen_them(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("    grid:", "    seeds: [0]\n    grid:") + (
        "  - {name: more, parent: scaled, op: sweep.scale, params: {factor: 3}, seeds: [1]}\n"
    )
    expect_error(tmp_path, text, "stages[1].seeds", "seeds [1] are not seeds of parent 'scaled'")


def test_a_teacher_stage_with_a_grid_is_ambiguous(tmp_path: Path) -> None:
    text = BASE_RECIPE + "  - {name: b, op: sweep.blend, teacher: scaled}\n"
    expect_error(tmp_path, text, "teacher stage 'scaled' makes 2 models per seed")


def test_a_teacher_must_exist_for_every_seed(tmp_path: Path) -> None:
    text = BASE_RECIPE + (
        "  - {name: t, op: sweep.scale, params: {factor: 3}, seeds: [0]}\n"
        "  - {name: b, op: sweep.blend, teacher: t}\n"
    )
    expect_error(tmp_path, text, "teacher stage 't' has no model for seeds [1]")


def test_a_plugin_that_cannot_be_imported_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPRESSLENS_TRUST", "no_such_plugin_xyz", prepend=",")  # trusted, absent
    text = BASE_RECIPE.replace("[sweep_ops]", "[sweep_ops, no_such_plugin_xyz]")
    expect_error(tmp_path, text, "plugins[1]", "cannot import plugin 'no_such_plugin_xyz'")


def test_a_duplicate_yaml_key_is_not_silently_dropped(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("  seeds: 2", "  seeds: 2\n  seeds: 3")
    expect_error(tmp_path, text, "duplicate key 'seeds'", line_with="seeds: 3")


def test_a_missing_file_is_a_recipe_error(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "nope.yaml")


def test_fashion_mnist_needs_a_split(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("digits: {}", "digits: {source: fashion-mnist}")
    expect_error(tmp_path, text, "datasets.digits", "needs split")


def test_every_problem_of_the_schema_is_listed(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("latency: false", "latency: sometimes").replace(
        "seeds: 2", "seeds: -1"
    )
    message = expect_error(tmp_path, text, "evaluate.latency", "base.seeds: seeds must be positive")
    assert len(message.splitlines()) >= 2


def test_write_recipe_dedents(tmp_path: Path) -> None:
    path = write_recipe(tmp_path, "    a: 1\n")
    assert path.read_text() == "a: 1\n"


def test_resources_a_ray_node_cannot_get_are_refused(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("stages:\n", "resources: {gpus: 1.5}\nstages:\n")
    expect_error(tmp_path, text, "resources.gpus", "above 1, a whole number", line_with="gpus")
    text = BASE_RECIPE.replace("stages:\n", "retries: -1\nstages:\n")
    expect_error(tmp_path, text, "retries", line_with="retries")


def test_a_stage_asks_for_its_own_resources_else_the_recipes(tmp_path: Path) -> None:
    text = BASE_RECIPE.replace("stages:\n", "threads: 2\nresources: {gpus: 1}\nstages:\n") + (
        "  - {name: wide, op: sweep.scale, params: {factor: 2.0}, resources: {cpus: 4}}\n"
    )
    recipe = recipe_from(tmp_path, text)
    assert recipe.resources_for("base").model_dump() == {"cpus": 2, "gpus": 1}  # cpus: threads
    assert recipe.resources_for("scaled").model_dump() == {"cpus": 2, "gpus": 1}
    assert recipe.resources_for("wide").model_dump() == {"cpus": 4, "gpus": 0}
