"""What measuring latency costs: the previous protocol vs the time-budgeted one (same process).

`Workspace.evaluate` measures every model's latency at batch 1 and 64. The previous protocol
(torch.utils.benchmark Timer: 3 warm-up calls, calibration, then 20 `timeit` blocks, each
preceded by Timer's own 2 untimed calls) cost a MiniLM-sized encoder tens of seconds. The
budgeted one (`measure_latency`, default 5 s) times the same 20 blocks with a bare loop and
gives a slow model fewer (never fewer than 3); `budget=None` shows the bare loop alone.

Two models: a slow one, a 6-layer MiniLM-sized transformer encoder (width 384, 12 heads,
--seq tokens; random weights, no download), and a fast one, the demo's lean_cnn (≈1.1 M
MACs). Per model and protocol: wall and CPU seconds (the cores may be shared), forward calls,
medians; then the ratios.
Goals: the slow model's cost ≤ the budget + its floor, and ≥ 4× cheaper than before; the fast
model keeps all 20 blocks and its medians agree with the previous protocol's within noise.

    python benchmarks/bench_latency.py [--seq 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.benchmark import Timer

from compresslens.evaluate.latency import batched_input, measure_latency
from compresslens.models.zoo import lean_cnn

BATCH_SIZES = (1, 64)


def previous_protocol(
    model: nn.Module, example: torch.Tensor, threads: int, measurements: int = 20
) -> dict[int, dict[str, float]]:
    """The protocol before the budget, as it was: Timer.timeit for warm-up, calibration, blocks."""
    result = {}
    with torch.inference_mode():
        for size in BATCH_SIZES:
            timer = Timer(
                stmt="model(x)",
                globals={"model": model, "x": batched_input(example, size)},
                num_threads=threads,
            )
            timer.timeit(3)
            number = 1
            while True:
                elapsed = timer.timeit(number).median * number
                if elapsed >= 0.005:
                    break
                scale = 0.005 / max(elapsed, 1e-9)
                number = max(number * 2, math.ceil(number * scale * 1.1))
            per_call = [timer.timeit(number).median for _ in range(measurements)]
            result[size] = {"median_ms": float(np.median(per_call)) * 1e3, "blocks": measurements}
    return result


def budgeted(budget: float | None) -> Callable[[nn.Module, torch.Tensor, int], dict]:
    def run(model: nn.Module, example: torch.Tensor, threads: int) -> dict[int, dict[str, float]]:
        report = measure_latency(
            model, example, batch_sizes=BATCH_SIZES, threads=threads, budget_seconds=budget
        )
        return {
            size: {"median_ms": entry.median_ms, "blocks": entry.measurements}
            for size, entry in report.batches.items()
        }

    return run


def counted(
    protocol: Callable[[nn.Module, torch.Tensor, int], dict],
    model: nn.Module,
    example: torch.Tensor,
    threads: int,
) -> dict[str, Any]:
    calls = [0]
    hook = model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    started, cpu = time.perf_counter(), time.process_time()
    try:
        batches = protocol(model, example, threads)
    finally:
        hook.remove()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "calls": calls[0],
        "batches": batches,
    }


def warm(model: nn.Module, example: torch.Tensor) -> None:
    """A few calls at each batch size first, so no protocol pays for the first-call set-up."""
    with torch.inference_mode():
        for size in BATCH_SIZES:
            for _ in range(2):
                model(batched_input(example, size))


def encoder(seq: int) -> tuple[nn.Module, torch.Tensor]:
    layer = nn.TransformerEncoderLayer(384, 12, 1536, batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=6, enable_nested_tensor=False).eval()
    return model, torch.randn(1, seq, 384)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seq", type=int, default=16, help="tokens per input of the encoder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget", type=float, default=5.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    models = {
        f"MiniLM-sized encoder ({args.seq} tokens)": encoder(args.seq),
        "lean_cnn": (lean_cnn().eval(), torch.randn(1, 1, 28, 28)),
    }
    protocols = {
        "previous (Timer.timeit)": previous_protocol,
        "bare loop, no budget": budgeted(None),
        f"budget {args.budget:g} s (default)": budgeted(args.budget),
    }
    for name, (model, example) in models.items():
        print(f"\n{name}, {args.threads} thread(s)")
        warm(model, example)
        results = {}
        for label, protocol in protocols.items():
            results[label] = run = counted(protocol, model, example, args.threads)
            medians = ", ".join(
                f"b{size} {entry['median_ms']:.3g} ms ({entry['blocks']} blocks)"
                for size, entry in run["batches"].items()
            )
            print(
                f"  {label:<26} {run['seconds']:6.2f} s wall {run['cpu_seconds']:6.2f} s cpu "
                f"{run['calls']:5d} calls   {medians}"
            )
        before, after = results["previous (Timer.timeit)"], results[list(protocols)[-1]]
        print(
            f"  cost before / after: {before['seconds'] / after['seconds']:.1f}× in time, "
            f"{before['calls'] / after['calls']:.1f}× in forward calls"
        )


if __name__ == "__main__":
    main()
