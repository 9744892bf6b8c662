"""Measure the demo models on Fashion-MNIST with 2 CPU threads: training time and test accuracy.

Trains each model of `DEMO_TRAINING` with its recorded defaults and prints seconds, test
accuracy, MACs per image and parameters. Run: `python benchmarks/bench_demo_training.py`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from compresslens.data.fashion_mnist import images_to_tensor, load_fashion_mnist
from compresslens.models import zoo
from compresslens.ops.training import train_classifier
from timing import load_line

THREADS = 2
EVAL_BATCH = 1000


@dataclass(frozen=True)
class Measurement:
    """One model's numbers, as printed."""

    name: str
    train_seconds: float
    cores_used: float  # process CPU time / wall time while training: below 2 means contention
    eval_seconds: float
    accuracy: float
    macs_per_image: int
    parameters: int


def macs_per_image(model: nn.Module, image_side: int = 28) -> int:
    """Multiply-accumulates of one forward pass on one image (FLOPs / 2)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 1, image_side, image_side))
    return counter.get_total_flops() // 2


def evaluate_accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of test images classified correctly."""
    with torch.inference_mode():
        predictions = torch.cat([model(batch).argmax(1) for batch in inputs.split(EVAL_BATCH)])
    return float((predictions == labels).float().mean())


def measure(
    name: str,
    factory: Callable[[], nn.Module],
    settings: dict[str, Any],
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    seed: int,
) -> Measurement:
    """Build, train and evaluate one model with the given demo settings."""
    torch.manual_seed(seed)
    model = factory()
    options = dict(settings)
    size = options.pop("train_size")
    cpu_start = time.process_time()
    report = train_classifier(model, train[0][:size], train[1][:size], seed=seed, **options)
    cores_used = (time.process_time() - cpu_start) / report.seconds
    start = time.perf_counter()
    accuracy = evaluate_accuracy(model, *test)
    eval_seconds = time.perf_counter() - start
    return Measurement(
        name=name,
        train_seconds=report.seconds,
        cores_used=cores_used,
        eval_seconds=eval_seconds,
        accuracy=accuracy,
        macs_per_image=macs_per_image(model),
        parameters=sum(p.numel() for p in model.parameters()),
    )


def load_tensors() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Fashion-MNIST train and test splits as model inputs and int64 labels."""
    largest = max(int(s["train_size"]) for s in zoo.DEMO_TRAINING.values())
    train_images, train_labels = load_fashion_mnist("train", limit=largest)
    test_images, test_labels = load_fashion_mnist("test")
    train = (images_to_tensor(train_images), torch.from_numpy(train_labels))
    test = (images_to_tensor(test_images), torch.from_numpy(test_labels))
    return train, test


def main() -> None:
    """Measure every model in DEMO_TRAINING (or those named) and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="*", default=list(zoo.DEMO_TRAINING))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    train, test = load_tensors()
    print(f"{load_line()}; one training run per model (seconds are wall time)")
    header = f"{'model':<14}{'train s':>9}{'cores':>7}{'eval s':>8}{'test acc':>10}"
    print(f"{header}{'MACs/img':>12}{'params':>10}")
    for name in args.models:
        factory = getattr(zoo, name)
        m = measure(name, factory, zoo.DEMO_TRAINING[name], train, test, args.seed)
        print(
            f"{m.name:<14}{m.train_seconds:>9.1f}{m.cores_used:>7.2f}{m.eval_seconds:>8.1f}"
            f"{m.accuracy:>10.2%}"
            f"{m.macs_per_image:>12,}{m.parameters:>10,}",
            flush=True,
        )
    print(load_line())


if __name__ == "__main__":
    main()
