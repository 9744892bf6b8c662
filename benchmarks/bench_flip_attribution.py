"""Flip-to-layer attribution on the demo: time per module and per flip, and a planted check.

Part 1 — the demo's magnitude 0.8, structured 0.5 and int8 models (seed 0) against their
parent on Fashion-MNIST's test set: flips (correct→incorrect), evaluations, instances run,
seconds per restored module and per flip, the top modules and the greedy set, and which
modules cannot be restored and why (structured pruning changes shapes).

Part 2 — planted damage: the parent with one conv layer's weights halved and perturbed on
purpose; attribution should name that layer first. Printed, never asserted (the tests do).

The workspace is copied to a temporary folder first (attribution stores its results), unless
--in-place; when it does not exist yet (a fresh clone), the demo's image part is built into it
first (`compresslens demo --no-serve --no-lm`, a few minutes). Wall time suffers when other
processes share the cores: the load is printed.

    python benchmarks/bench_flip_attribution.py [--workspace demo-workspace] [--in-place]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import compresslens as cl
from compresslens.analysis.flip_attribution import (
    attribute_flips,
    control_sample,
    predictions,
    select_flips,
)
from timing import load_line

MODELS = ("magnitude[amount=0.8]-s0", "structured[amount=0.5]-s0", "int8-s0")
DATASET = "fashion-mnist-test"


def model_named(ws: cl.Workspace, prefix: str) -> cl.ModelInfo:
    """The demo names models "<name>#<id prefix>": the one whose name starts with `prefix`."""
    found = [m for m in ws.models() if m.name.split("#")[0] == prefix]
    if len(found) != 1:
        raise SystemExit(f"expected one model named {prefix!r}, found {len(found)}")
    return found[0]


def report_pair(ws: cl.Workspace, name: str, control: int) -> None:
    model = model_named(ws, name)
    base = ws.model(model.parent_ids[0])
    result = ws.attribute_flips(base, model, DATASET, control=control)
    cost = result.cost
    rerun = [row for row in result.rows if row.restorable and not row.unchanged]
    unchanged = [row.module for row in result.rows if row.unchanged]
    print(f"\n{name} vs {base.name}: {result.flips} flips (correct→incorrect)")
    print(
        f"  {len(result.rows)} modules: {len(rerun)} restored and re-run, "
        f"{len(unchanged)} unchanged (the base's values already, not run), "
        f"{len(result.rows) - len(rerun) - len(unchanged)} cannot be restored"
    )
    print(
        f"  {cost.evaluations} evaluations × {cost.flips + cost.control} instances "
        f"({cost.forward_instances} run in all, {cost.control} controls); "
        f"{cost.seconds:.2f} s: {cost.seconds_per_group * 1000:.1f} ms per module, "
        f"{cost.seconds_per_flip * 1000:.2f} ms per flip"
    )
    for row in rerun[:3]:
        print(
            f"  {row.module:<24} undoes {row.undone:>4} ({row.undone_share:6.1%}) "
            f"creates {row.created:>3} of {cost.control}"
        )
    chain = " + ".join(f"{s.module} ({s.cumulative_share:.1%})" for s in result.greedy)
    print(f"  greedy set: {chain or 'none'}; reaches {result.target:.0%}: {result.reached}")
    for row in result.rows:
        if not row.restorable:
            print(f"  cannot restore {row.module}: {row.reason}")


def planted_check(ws: cl.Workspace, control: int) -> None:
    """Damage one conv layer of the parent on purpose and see where attribution points."""
    parent = ws.model(model_named(ws, MODELS[0]).parent_ids[0])
    base = ws.load_model(parent)
    convs = [n for n, m in base.named_modules() if isinstance(m, torch.nn.Conv2d)]
    layer = convs[len(convs) // 2]
    damaged = copy.deepcopy(base)
    weight = damaged.get_submodule(layer).weight
    with torch.no_grad():
        noise = torch.randn(weight.shape, generator=torch.Generator().manual_seed(0))
        weight.mul_(0.5).add_(noise * 0.5 * weight.std())
    arrays = ws.load_dataset(DATASET)
    labels = arrays.labels.numpy()
    base_pred, model_pred = predictions(base, arrays.inputs), predictions(damaged, arrays.inputs)
    flips = select_flips(labels, base_pred, model_pred)
    sample = control_sample(base_pred, model_pred, control)
    result = attribute_flips(
        base,
        damaged,
        arrays.inputs[flips],
        labels[flips],
        base_pred[flips],
        control_inputs=arrays.inputs[sample],
        control_predictions=base_pred[sample],
    )
    first = result.rows[0]
    print(f"\nplanted: {layer} of {parent.name} damaged → {result.flips} flips")
    print(
        f"  first: {first.module} undoes {first.undone_share:.1%}; "
        f"the damaged layer ranks first: {first.module == layer}; "
        f"{result.cost.seconds:.2f} s, {result.cost.seconds_per_group * 1000:.1f} ms per module"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", default="demo-workspace")
    parser.add_argument("--in-place", action="store_true", help="do not copy the workspace")
    parser.add_argument("--control", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.set_printoptions(precision=3)
    location = Path(args.workspace)
    if not (location / "compresslens.db").exists():
        demo = [sys.executable, "-m", "compresslens.cli.main", "demo", "--no-serve", "--no-lm"]
        subprocess.run([*demo, "--workspace", str(location)], check=True)
    scratch = None
    if not args.in_place:
        scratch = Path(tempfile.mkdtemp(prefix="bench-attribution-"))
        location = Path(shutil.copytree(location, scratch / "ws"))
    print(load_line())
    ws = cl.Workspace(location)
    try:
        for name in MODELS:
            report_pair(ws, name, args.control)
        planted_check(ws, args.control)
    finally:
        ws.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(load_line())


if __name__ == "__main__":
    main()
