"""Running a plan: every node made once and evaluated, cached on rerun, failures contained."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sweep_helpers import BASE_RECIPE, recipe_from

import compresslens as cl
from compresslens.run import build_plan, run_recipe

FAILING_RECIPE = BASE_RECIPE + (
    "  - name: risky\n"
    "    parent: scaled\n"
    "    op: sweep.fail\n"
    "    grid: {fail: [false, true]}\n"
    "    seeds: [0]\n"
    "  - {name: after, parent: risky, op: sweep.scale, params: {factor: 1.5}}\n"
)


def stored(ws: cl.Workspace) -> dict[str, cl.ModelInfo]:
    return {m.id: m for m in ws.models()}


def test_a_run_makes_and_evaluates_every_planned_model(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    summary = run_recipe(recipe, digits_workspace)
    plan = build_plan(recipe)
    assert summary.counts == {"done": 6, "cached": 0, "failed": 0, "skipped": 0}
    models = stored(digits_workspace)
    assert {n.id for n in plan} <= set(models)
    assert len(models) == 1 + 6  # the fixture's mlp and the sweep
    for node in plan:
        info = models[node.id]
        assert info.status == "ready"
        assert "stage:" + node.stage in info.tags and "recipe:tiny" in info.tags
        assert [e.dataset_name for e in digits_workspace.evaluations(node.id)] == ["digits"]
        assert 0 <= info.metrics["digits"]["accuracy"] <= 1
    assert all(n.wall_time_s > 0 for n in summary.nodes)


def test_a_second_run_does_no_work(tmp_path: Path, digits_workspace: cl.Workspace) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    run_recipe(recipe, digits_workspace)
    before = {m.id: m.created_at for m in digits_workspace.models()}
    again = run_recipe(recipe, digits_workspace)
    assert again.counts == {"done": 0, "cached": 6, "failed": 0, "skipped": 0}
    assert {m.id: m.created_at for m in digits_workspace.models()} == before


def test_a_missing_evaluation_is_done_without_remaking_the_model(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = recipe_from(tmp_path, BASE_RECIPE)
    no_eval = recipe_from(tmp_path, BASE_RECIPE.replace("datasets: [digits]", "datasets: []"))
    run_recipe(no_eval, digits_workspace)
    created = {m.id: m.created_at for m in digits_workspace.models()}
    summary = run_recipe(recipe, digits_workspace)
    assert summary.counts["done"] == 6
    assert {m.id: m.created_at for m in digits_workspace.models()} == created
    assert all(digits_workspace.evaluations(n.id) for n in summary.nodes)


def test_a_failing_node_is_recorded_its_children_skipped_its_siblings_finished(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    recipe = recipe_from(tmp_path, FAILING_RECIPE)
    summary = run_recipe(recipe, digits_workspace)
    by_label = {n.label: n for n in summary.nodes}
    failed = by_label["risky factor=0.5 fail=true seed=0"]
    assert failed.status == "failed"
    assert "sweep.fail was told to fail" in (failed.error or "")
    info = digits_workspace.model(failed.id)
    assert info.status == "failed"
    assert info.operation is not None and "Traceback" in (info.operation.error or "")
    assert "sweep.fail was told to fail" in info.operation.error
    assert by_label["after factor=0.5 fail=true seed=0"].status == "skipped"
    assert by_label["risky factor=0.5 fail=false seed=0"].status == "done"
    assert by_label["after factor=0.5 fail=false seed=0"].status == "done"
    assert by_label["risky factor=2.0 fail=true seed=0"].status == "failed"
    assert summary.counts == {"done": 6 + 2 + 2, "cached": 0, "failed": 2, "skipped": 2}
    assert not summary.ok and len(summary.failures) == 2
    # a rerun retries the failed nodes (they fail again) and caches the rest
    again = run_recipe(recipe, digits_workspace)
    assert again.counts == {"done": 0, "cached": 10, "failed": 2, "skipped": 2}


def test_progress_reports_every_stage_to_its_total(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    calls: list[tuple[str, int, int]] = []
    run_recipe(
        recipe_from(tmp_path, FAILING_RECIPE),
        digits_workspace,
        progress=lambda *call: calls.append(call),
    )
    last = {stage: (done, total) for stage, done, total in calls}
    assert last == {"base": (2, 2), "scaled": (4, 4), "risky": (4, 4), "after": (4, 4)}
    assert ("risky", 0, 4) in calls  # every bar appears before any work


def test_the_teacher_is_used(tmp_path: Path, digits_workspace: cl.Workspace) -> None:
    text = BASE_RECIPE + (
        "  - {name: blended, parent: scaled, op: sweep.blend, teacher: base, "
        "params: {weight: 1.0}, seeds: [1]}\n"
    )
    summary = run_recipe(recipe_from(tmp_path, text), digits_workspace)
    assert summary.ok
    blended = next(n for n in summary.nodes if n.stage == "blended")
    teacher = next(n for n in summary.nodes if n.stage == "base" and n.seed == 1)
    info = digits_workspace.model(blended.id)
    assert info.operation is not None
    assert {"id": teacher.id, "role": "teacher"} in [
        {"id": p["id"], "role": p["role"]} for p in info.operation.parents
    ]
    # weight 1.0 copies the teacher's weights into the student
    student = digits_workspace.load_model(blended.id).state_dict()
    expected = digits_workspace.load_model(teacher.id).state_dict()
    assert all(student[k].equal(expected[k]) for k in expected)


def test_an_existing_base_model_is_evaluated_and_compressed(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    text = BASE_RECIPE.replace(
        "  factory: factories:digits_mlp\n"
        "  train: {dataset: digits, epochs: 1, batch_size: 256}\n"
        "  seeds: 2\n",
        "  model: mlp\n",
    )
    summary = run_recipe(recipe_from(tmp_path, text), digits_workspace)
    assert summary.counts == {"done": 3, "cached": 0, "failed": 0, "skipped": 0}
    assert digits_workspace.evaluations("mlp")


@pytest.mark.slow
@pytest.mark.parametrize(("recipe_threads", "process_threads"), [(1, 2), (2, 1)])
def test_workers_make_the_same_models_as_one_process_whatever_the_thread_counts(
    tmp_path: Path, digits_workspace: cl.Workspace, recipe_threads: int, process_threads: int
) -> None:
    """One process (torch set to `process_threads` on purpose) and two workers (one core
    each) both run every node with the recipe's thread count: bit-identical weights."""
    recipe = recipe_from(tmp_path, f"threads: {recipe_threads}\n" + FAILING_RECIPE)
    serial = cl.Workspace(tmp_path / "serial")
    parallel = cl.Workspace(tmp_path / "parallel")
    arrays = digits_workspace.load_dataset("digits")
    for ws in (serial, parallel):
        ws.add_dataset("digits", arrays.inputs, arrays.labels, attributes=arrays.attributes)
    previous = torch.get_num_threads()
    torch.set_num_threads(process_threads)
    try:
        one = run_recipe(recipe, serial, workers=1)
    finally:
        torch.set_num_threads(previous)
    many = run_recipe(recipe, parallel, workers=2)
    assert one.counts == many.counts
    assert many.workers == 2

    def weights(ws: cl.Workspace) -> dict[str, str | None]:
        return {row.id: row.weights_artifact for row in ws.store.list_models()}

    assert weights(serial) == weights(parallel)
    failed = {n.id: n.status for n in many.nodes}
    assert failed == {n.id: n.status for n in one.nodes}
    for ws in (serial, parallel):
        recorded = {m.operation.threads for m in ws.models() if m.operation is not None}
        assert recorded == {recipe_threads}


@pytest.mark.slow
def test_a_worker_that_dies_fails_only_its_own_node(
    tmp_path: Path, digits_workspace: cl.Workspace
) -> None:
    text = BASE_RECIPE.replace(
        "  factory: factories:digits_mlp\n"
        "  train: {dataset: digits, epochs: 1, batch_size: 256}\n"
        "  seeds: 2\n",
        "  model: mlp\n",
    ) + (
        "  - {name: crashy, op: sweep.crash, grid: {crash: [false, true]}}\n"
        "  - {name: after, parent: crashy, op: sweep.scale, params: {factor: 1.5}}\n"
    )
    summary = run_recipe(recipe_from(tmp_path, text), digits_workspace, workers=2)
    by_label = {n.label: n for n in summary.nodes}
    assert by_label["crashy crash=true seed=0"].status == "failed"
    assert "worker process died" in (by_label["crashy crash=true seed=0"].error or "")
    assert by_label["after crash=true seed=0"].status == "skipped"
    assert summary.counts == {"done": 1 + 2 + 1 + 1, "cached": 0, "failed": 1, "skipped": 1}
