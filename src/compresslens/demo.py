"""The demo workspace: the demo sweep (populations of lean CNNs compressed many ways) plus
two larger base models (a CNN and a ResNet) trained on Fashion-MNIST here, and the demo
language model with its own sweep (run/recipes/demo_lm.yaml) and stored generations.

Re-running it is cheap: a dataset or model that is already in the workspace is kept, and
the LM folder under the workspace is reused while its training report matches the options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from compresslens.data.fashion_mnist import images_to_tensor, load_fashion_mnist
from compresslens.demo_lm import (
    DEMO_CALIBRATION_NAME,
    DEMO_HELD_OUT_NAME,
    DEMO_LM_NAME,
    DEMO_LM_STEPS,
    DemoLMOptions,
    add_demo_calibration,
    add_demo_held_out,
    add_demo_lm,
    ensure_demo_lm,
)
from compresslens.errors import InvalidInputError, NotFoundError
from compresslens.models.factory import build_from_factory
from compresslens.models.zoo import DEMO_TRAINING
from compresslens.ops.training import train_classifier
from compresslens.records import ModelInfo
from compresslens.run.demo import build_demo_sweep, demo_lm_recipe_path
from compresslens.run.summary import NodeOutcome, RunSummary
from compresslens.workspace import Workspace

TEST_DATASET = "fashion-mnist-test"
# (model name, factory, factory kwargs, key into DEMO_TRAINING)
DEMO_BASE_MODELS = (
    ("cnn-base", "compresslens.models.zoo:small_cnn", {"num_classes": 10}, "small_cnn"),
    ("resnet-base", "compresslens.models.zoo:small_resnet", {"num_classes": 10}, "small_resnet"),
)
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 0
    threads: int = 2
    workers: int = 2  # processes for the sweep
    train_scale: float = 1.0  # share of each model's training subset (tests use less)
    images: bool = True  # the image part (tests of the LM part leave it out)
    lm: bool = True  # the language-model part (`--no-lm` leaves it out)
    lm_steps: int = DEMO_LM_STEPS
    lm_options: DemoLMOptions = field(default_factory=DemoLMOptions)
    lm_folder: Path | None = None  # default: <workspace>/lm/demo-lm


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class DemoResult:
    sweep: RunSummary | None  # None: the image part was left out
    bases: list[ModelInfo]
    lm_sweep: RunSummary | None = None  # None: the LM part was left out

    @property
    def failures(self) -> list[NodeOutcome]:
        return [f for s in (self.sweep, self.lm_sweep) if s is not None for f in s.failures]


def build_demo(
    ws: Workspace, options: DemoOptions = DemoOptions(), progress: ProgressFn = _silent
) -> DemoResult:
    """Run the demo sweep, train, store, evaluate and profile the larger base models, then
    build the LM part (`build_demo_lm_part`)."""
    sweep, bases = _build_image_part(ws, options, progress) if options.images else (None, [])
    lm_sweep = build_demo_lm_part(ws, options, progress) if options.lm else None
    ws.behaviour_metrics()  # a rerun fills in models evaluated before the flip metrics existed
    return DemoResult(sweep, bases, lm_sweep)


def _build_image_part(
    ws: Workspace, options: DemoOptions, progress: ProgressFn
) -> tuple[RunSummary, list[ModelInfo]]:
    previous_threads = torch.get_num_threads()
    try:
        sweep = build_demo_sweep(ws, workers=options.workers, progress=progress)
        torch.set_num_threads(options.threads)
        existing = {m.name for m in ws.models()}
        train_images, train_labels = load_fashion_mnist("train")
        results = []
        for name, factory, kwargs, recipe_key in DEMO_BASE_MODELS:
            if name not in existing:
                _train_and_add(
                    ws,
                    name,
                    factory,
                    kwargs,
                    recipe_key,
                    train_images,
                    train_labels,
                    options,
                    progress,
                )
            if not ws.evaluations(name):
                ws.evaluate(
                    name,
                    TEST_DATASET,
                    logits=True,
                    features=True,
                    threads=1,
                    progress=lambda done, total, n=name: progress(f"evaluate {n}", done, total),
                )
            results.append(ws.model(name))
        return sweep, results
    finally:
        torch.set_num_threads(previous_threads)


def _train_and_add(
    ws: Workspace,
    name: str,
    factory: str,
    kwargs: dict,
    recipe_key: str,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    options: DemoOptions,
    progress: ProgressFn,
) -> ModelInfo:
    recipe = dict(DEMO_TRAINING[recipe_key])
    size = max(256, int(recipe.pop("train_size") * options.train_scale))
    torch.manual_seed(options.seed)
    model = build_from_factory(factory, kwargs)
    report = train_classifier(
        model,
        images_to_tensor(train_images[:size]),
        torch.from_numpy(train_labels[:size]),
        seed=options.seed,
        on_step=lambda step, total, _loss: progress(f"train {name}", step, total),
        **recipe,
    )
    note = (
        f"trained by the demo on the first {size} Fashion-MNIST training images: "
        f"{report.epochs} epochs, {report.steps} steps, {report.seconds:.1f} s, "
        f"final loss {report.final_loss:.3f}, seed {options.seed}, {options.threads} threads"
    )
    return ws.add_model(
        model, name=name, factory=factory, factory_kwargs=kwargs, tags=["demo", "base"], note=note
    )


def default_lm_folder(ws: Workspace) -> Path:
    """Where the demo keeps its LM folder: under the workspace folder, next to its database."""
    if "://" in ws.location:
        raise InvalidInputError(
            f"the workspace {ws.location} is not a folder: give the demo LM a folder "
            "(DemoOptions(lm_folder=...)) or build the demo with --no-lm"
        )
    return Path(ws.location) / "lm" / "demo-lm"


def build_demo_lm_part(
    ws: Workspace, options: DemoOptions = DemoOptions(), progress: ProgressFn = _silent
) -> RunSummary:
    """Train (or reuse) the demo LM, register it as lm-base with its held-out and calibration
    token datasets, run the LM sweep (every model evaluated on lm-held-out, so compared with
    lm-base token by token), and store each model's generations so the UI needs no job."""
    folder = options.lm_folder or default_lm_folder(ws)
    steps_tag = f"steps:{options.lm_steps}"
    _check_lm_steps(ws, steps_tag)
    registered = DEMO_LM_NAME in {m.name for m in ws.models()}
    datasets = (DEMO_HELD_OUT_NAME, DEMO_CALIBRATION_NAME)
    if not registered or any(ws.store.dataset_named(name) is None for name in datasets):
        ensure_demo_lm(
            folder,
            options.lm_steps,
            options.seed,
            options.lm_options,
            on_step=lambda step, total, _loss: progress(f"train {DEMO_LM_NAME}", step, total),
        )
        add_demo_lm(ws, folder, tags=["demo", "lm", steps_tag])
        add_demo_held_out(ws, folder, options=options.lm_options)
        add_demo_calibration(ws, folder, options=options.lm_options)
    sweep = build_demo_sweep(
        ws,
        workers=options.workers,
        progress=lambda stage, done, total: progress(f"lm {stage}", done, total),
        recipe=demo_lm_recipe_path(),
    )
    made = [o.id for o in sweep.nodes if o.status in ("done", "cached")]
    for done, model_id in enumerate(made, start=1):
        ws.generate(model_id, DEMO_HELD_OUT_NAME)
        progress("lm generations", done, len(made))
    return sweep


def _check_lm_steps(ws: Workspace, steps_tag: str) -> None:
    """A workspace holds one demo LM: another --lm-steps would need another lm-base."""
    try:
        tags = ws.model(DEMO_LM_NAME).tags
    except NotFoundError:
        return
    made = [t for t in tags if t.startswith("steps:")]
    if made and steps_tag not in made:
        raise InvalidInputError(
            f"this workspace's {DEMO_LM_NAME} was trained with {made[0].removeprefix('steps:')} "
            f"steps, not {steps_tag.removeprefix('steps:')}: pass that --lm-steps, or build "
            "the demo into a new workspace"
        )
