"""CLI start-up: `compresslens --help` and `compresslens ls` in fresh processes.

What a user waits for is mostly imports, so each command runs in a new interpreter, and
`python -c pass` runs in the same loop, alternating with them, so load on the machine hits
all three alike. Goals (2-core machine): --help under 0.5 s, ls under 1 s.

    python benchmarks/bench_startup.py [--rounds 10] [--models 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CLI = [sys.executable, "-m", "compresslens.cli.main"]


def build_workspace(folder: str, models: int) -> None:
    """A small workspace: one dataset, `models` stored models, the first one evaluated."""
    import torch

    import compresslens as cl
    from compresslens.models.zoo import small_cnn

    ws = cl.Workspace(folder)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (64,), generator=generator)
    ws.add_dataset("tiny", images, labels)
    for seed in range(models):
        torch.manual_seed(seed)
        ws.add_model(small_cnn(), name=f"cnn-{seed}", factory="compresslens.models.zoo:small_cnn")
    ws.evaluate("cnn-0", "tiny", latency=False)
    ws.close()


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--models", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        build_workspace(folder, args.models)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "compresslens --help": [*CLI, "--help"],
            "compresslens ls": [*CLI, "ls", "-w", folder],
        }
        for command in commands.values():  # warm-up: the file cache, .pyc files
            seconds(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(seconds(command))
    bare = times["python -c pass"]
    print(f"{args.rounds} rounds, alternating; {args.models} models in the workspace")
    for name, runs in times.items():
        ratios = [t / b for t, b in zip(runs, bare, strict=True)]
        print(
            f"{name:<22} median {statistics.median(runs):6.3f} s  "
            f"({statistics.median(ratios):5.1f}× python -c pass)"
        )
    print("goals: --help < 0.5 s, ls < 1 s")


if __name__ == "__main__":
    main()
