"""The demo workspace: the demo sweep (populations of lean CNNs compressed many ways) plus
two larger base models (a CNN and a ResNet) trained on Fashion-MNIST here.

Re-running it is cheap: a dataset or model that is already in the workspace is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from compresslens.data.fashion_mnist import images_to_tensor, load_fashion_mnist
from compresslens.models.factory import build_from_factory
from compresslens.models.zoo import DEMO_TRAINING
from compresslens.ops.training import train_classifier
from compresslens.records import ModelInfo
from compresslens.run.demo import build_demo_sweep
from compresslens.run.summary import RunSummary
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


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class DemoResult:
    sweep: RunSummary
    bases: list[ModelInfo]


def build_demo(
    ws: Workspace, options: DemoOptions = DemoOptions(), progress: ProgressFn = _silent
) -> DemoResult:
    """Run the demo sweep, then train, store, evaluate and profile the larger base models."""
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
        return DemoResult(sweep, results)
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
