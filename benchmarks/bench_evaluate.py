"""Evaluation harness throughput vs a bare inference_mode loop (same model, data, process).

The harness run includes everything `Workspace.evaluate` does: rebuilding the model from
the store, per-instance outputs, metrics, Parquet + SQL writes. The two run alternating in
one loop; the throughput ratio is the median of the per-pair ratios (bare / harness time), so
a burst of load from other processes skews one pair, not one side. Goal: ratio ≥ 0.9.

    python benchmarks/bench_evaluate.py [--instances 10000] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

import compresslens as cl
from compresslens.data.fashion_mnist import images_to_tensor, load_fashion_mnist
from compresslens.models.zoo import small_cnn
from timing import alternating, load_line

BATCH = 256


def bare_loop(model: torch.nn.Module, inputs: torch.Tensor) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(inputs), BATCH):
            model(inputs[start : start + BATCH])
    return time.perf_counter() - started


def harness(ws: cl.Workspace) -> float:
    started = time.perf_counter()
    ws.evaluate("cnn", "fmnist", batch_size=BATCH, latency=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_fashion_mnist("test", limit=args.instances)
    inputs = images_to_tensor(images)
    torch.manual_seed(0)
    model = small_cnn().eval()
    with tempfile.TemporaryDirectory() as folder:
        ws = cl.Workspace(folder)
        ws.add_dataset("fmnist", inputs, labels)
        ws.add_model(model, name="cnn", factory="compresslens.models.zoo:small_cnn")
        bare_loop(model, inputs[:BATCH])  # warm-up
        pair = alternating(lambda: harness(ws), lambda: bare_loop(model, inputs), args.repeats)
        ws.close()
    harness_s, bare_s = pair.first.wall, pair.second.wall
    n = len(inputs)
    print(f"instances {n}, batch {BATCH}, threads {args.threads}, repeats {args.repeats}")
    print(load_line())
    print(
        f"bare inference_mode loop : {bare_s:.3f} s median  ({n / bare_s:,.0f} instances/s; "
        f"{pair.second.spread()})"
    )
    print(
        f"Workspace.evaluate       : {harness_s:.3f} s median  ({n / harness_s:,.0f} instances/s; "
        f"{pair.first.spread()})"
    )
    print(
        f"throughput ratio harness/bare: {pair.ratio:.3f}  (median of per-pair ratios; goal >= 0.9)"
    )


if __name__ == "__main__":
    main()
