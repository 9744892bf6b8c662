"""The demo workspace: Fashion-MNIST, base models trained here, evaluated and profiled.

Re-running it is cheap: a dataset or model that is already in the workspace is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from compresslens.data.attributes import brightness_tercile, ink_coverage_tercile
from compresslens.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    images_to_tensor,
    load_fashion_mnist,
)
from compresslens.models.factory import build_from_factory
from compresslens.models.zoo import DEMO_TRAINING
from compresslens.ops.training import train_classifier
from compresslens.records import ModelInfo
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
    train_scale: float = 1.0  # share of each model's training subset (tests use less)


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


def add_fashion_mnist_test(ws: Workspace) -> str:
    """Register the 10,000 held-out images with two subgroup attributes derived from pixels."""
    images, labels = load_fashion_mnist("test")
    info = ws.add_dataset(
        TEST_DATASET,
        images_to_tensor(images),
        labels,
        class_names=list(FASHION_MNIST_CLASSES),
        attributes={
            "brightness": brightness_tercile(images),
            "ink_coverage": ink_coverage_tercile(images),
        },
        modality="image",
        description=(
            "Fashion-MNIST test split (Debian dataset-fashion-mnist). Subgroup attributes "
            "brightness and ink_coverage are terciles computed from the pixels by compresslens, "
            "not labels from the dataset's authors."
        ),
    )
    return info.id


def build_demo(
    ws: Workspace, options: DemoOptions = DemoOptions(), progress: ProgressFn = _silent
) -> list[ModelInfo]:
    """Train, store, evaluate and profile the demo's base models; return them."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        dataset_id = add_fashion_mnist_test(ws)
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
                    dataset_id,
                    logits=True,
                    features=True,
                    threads=1,
                    progress=lambda done, total, n=name: progress(f"evaluate {n}", done, total),
                )
            results.append(ws.model(name))
        return results
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
