"""The demo's language-model part on a tiny LM: its sweep's models and edges, their token
metrics against lm-base, the stored generations, and a rerun that is all cache."""

from __future__ import annotations

from pathlib import Path

import pytest

import compresslens as cl
from compresslens.errors import InvalidInputError

pytest.importorskip("transformers", reason="the demo LM is a transformers model")

from compresslens.demo import DemoOptions, build_demo, build_demo_lm_part
from compresslens.demo_lm import DemoLMOptions
from compresslens.models.causal_lm import CausalLMShape

SENTENCES = [
    "The early bird catches the worm.",
    "A penny saved is a penny earned.",
    "Never put off until tomorrow what you can do today.",
    "Whatever can go wrong will go wrong.",
    "If at first you do not succeed, try, try again.",
]
LM_STAGES = {
    "lm-magnitude-norms",
    "lm-magnitude",
    "lm-restored",
    "lm-wanda",
    "lm-wanda-2of4",
    "lm-int8-weight-only",
    "lm-int4-weight-only",
    "lm-dynamic-int8",
}


def tiny_demo_options(root: Path, steps: int = 20) -> DemoOptions:
    """The LM part only, on a 2-layer width-32 LM trained on 120 proverbs (context 64: the
    generations' 8 prompt tokens + 32 generated fit)."""
    (root / "fortunes").mkdir(exist_ok=True)
    entries = [f"{SENTENCES[i % 5]}\n\t-- Proverb {i % 7}" for i in range(120)]
    (root / "fortunes" / "proverbs").write_text("\n%\n".join(entries) + "\n%\n")
    lm_options = DemoLMOptions(
        vocab_size=300,
        shape=CausalLMShape(layers=2, width=32, heads=2, context=64, mlp_width=64),
        batch_size=4,
        threads=1,
        held_out_every=6,
        corpus=root / "fortunes",
    )
    return DemoOptions(images=False, workers=1, lm_steps=steps, lm_options=lm_options)


@pytest.fixture(scope="module")
def lm_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[cl.Workspace, DemoOptions]:
    root = tmp_path_factory.mktemp("lm-demo")
    options = tiny_demo_options(root)
    ws = cl.Workspace(root / "ws")
    stages: list[str] = []
    result = build_demo(ws, options, progress=lambda stage, *_: stages.append(stage))
    assert result.sweep is None and result.lm_sweep is not None
    assert result.lm_sweep.ok, [f.error for f in result.failures]
    assert {"train lm-base", "lm base", "lm lm-restored", "lm generations"} <= set(stages)
    return ws, options


def stage_of(info: cl.ModelInfo) -> str:
    return next(t.removeprefix("stage:") for t in info.tags if t.startswith("stage:"))


def lm_children(ws: cl.Workspace) -> dict[str, cl.ModelInfo]:
    return {stage_of(m): m for m in ws.models() if any(t == "recipe:demo-lm" for t in m.tags)}


@pytest.mark.slow
def test_the_lm_part_trains_the_lm_under_the_workspace_and_registers_its_datasets(
    lm_demo: tuple[cl.Workspace, DemoOptions],
) -> None:
    ws, _ = lm_demo
    assert (Path(ws.location) / "lm" / "demo-lm" / "model.safetensors").is_file()
    base = ws.model("lm-base")
    assert base.factory_kwargs["task"] == "causal-lm" and "steps:20" in base.tags
    assert {d.name: d.modality for d in ws.datasets()} == {
        "lm-held-out": "tokens",
        "lm-calibration": "tokens",
    }


@pytest.mark.slow
def test_the_sweep_makes_each_lm_model_once_from_lm_base_and_restore_has_two_parents(
    lm_demo: tuple[cl.Workspace, DemoOptions],
) -> None:
    ws, _ = lm_demo
    children = lm_children(ws)
    assert set(children) == LM_STAGES
    base = ws.model("lm-base")
    for stage, info in children.items():
        if stage != "lm-restored":
            assert info.parent_ids == [base.id], stage
    assert children["lm-restored"].parent_ids == [children["lm-magnitude-norms"].id, base.id]


@pytest.mark.slow
def test_every_lm_model_has_token_metrics_against_lm_base_on_the_held_out_text(
    lm_demo: tuple[cl.Workspace, DemoOptions],
) -> None:
    ws, _ = lm_demo
    children = lm_children(ws)
    assert ws.model("lm-base").metrics["lm-held-out"]["perplexity"] > 1.0
    for stage, info in children.items():
        metrics = ws.model(info.id).metrics["lm-held-out"]
        assert metrics["perplexity"] > 1.0, stage
        assert 0.0 <= metrics["same_top"] <= 1.0 and metrics["kld_mean"] >= 0.0, stage
    restored = ws.model(children["lm-restored"].id).metrics["lm-held-out"]
    pruned = ws.model(children["lm-magnitude-norms"].id).metrics["lm-held-out"]
    assert restored["perplexity"] != pruned["perplexity"]  # the norms were put back


@pytest.mark.slow
def test_generations_of_every_lm_model_are_stored_so_the_ui_reads_them_without_a_job(
    lm_demo: tuple[cl.Workspace, DemoOptions],
) -> None:
    ws, _ = lm_demo
    for name in ["lm-base", *(info.id for info in lm_children(ws).values())]:
        stored = ws.generate(name, "lm-held-out", cached_only=True)
        assert stored["generations"], name


@pytest.mark.slow
def test_a_rerun_is_all_cache_and_reuses_the_trained_folder(
    lm_demo: tuple[cl.Workspace, DemoOptions],
) -> None:
    ws, options = lm_demo
    weights = Path(ws.location) / "lm" / "demo-lm" / "model.safetensors"
    written = weights.stat().st_mtime_ns
    stages: list[str] = []
    sweep = build_demo_lm_part(ws, options, progress=lambda stage, *_: stages.append(stage))
    assert sweep.ok and sweep.counts.get("done", 0) == 0
    assert "train lm-base" not in stages
    assert weights.stat().st_mtime_ns == written


@pytest.mark.slow
def test_other_lm_steps_on_a_built_workspace_are_refused_before_anything_trains(
    lm_demo: tuple[cl.Workspace, DemoOptions], tmp_path: Path
) -> None:
    ws, _ = lm_demo
    options = tiny_demo_options(tmp_path, steps=21)
    with pytest.raises(InvalidInputError, match="trained with 20 steps, not 21"):
        build_demo_lm_part(ws, options)


def test_the_shipped_lm_recipe_is_valid_and_names_the_sweep_issue_12_asks_for() -> None:
    from compresslens.run import load_recipe
    from compresslens.run.demo import demo_lm_recipe_path

    recipe = load_recipe(demo_lm_recipe_path())
    assert recipe.base.model == "lm-base" and recipe.evaluate.datasets == ["lm-held-out"]
    assert {s.name for s in recipe.stages} == LM_STAGES
    restored = recipe.stage("lm-restored")
    assert (restored.parent, restored.teacher, restored.op) == (
        "lm-magnitude-norms",
        "base",
        "restore",
    )
    norms, excluded = recipe.stage("lm-magnitude-norms"), recipe.stage("lm-magnitude")
    assert norms.params["amount"] == excluded.params["amount"]
    assert norms.params["include_types"] == ["linear", "norm"]
    assert excluded.params["include_types"] == ["linear"]
