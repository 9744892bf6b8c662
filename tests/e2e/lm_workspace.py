"""The demo workspace with the demo language model, for the LM views' e2e pass.

Until `make demo` builds one (part E), this copies the image demo workspace and adds the demo
LM from a trained folder, its held-out fortunes, global magnitude pruning with and without the
norms, the norms restored, every LM evaluated on the held-out tokens, and generations.

    python tests/e2e/lm_workspace.py <demo workspace> <trained demo LM folder> <destination>
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import compresslens as cl
from compresslens.demo_lm import add_demo_held_out, add_demo_lm

LM = "lm-base"
HELD_OUT = "lm-held-out"
NORMS_PRUNED = "lm-magnitude-norms"
NORMS_KEPT = "lm-magnitude"
RESTORED = "lm-norms-restored"
AMOUNT = 0.3


def build_lm_workspace(demo: Path, lm_folder: Path, destination: Path) -> Path:
    """A copy of `demo` with the demo LM, its compressions, evaluations and generations."""
    shutil.copytree(demo, destination)
    folder = destination / "demo-lm"
    shutil.copytree(lm_folder, folder)
    ws = cl.Workspace(destination)
    try:
        add_demo_lm(ws, folder, name=LM)
        add_demo_held_out(ws, folder, name=HELD_OUT)
        scope = {"amount": AMOUNT, "scope": "global"}
        norms = ws.compress(
            LM, "prune.magnitude", **scope, include_types=["linear", "norm"], name=NORMS_PRUNED
        )
        ws.compress(LM, "prune.magnitude", **scope, name=NORMS_KEPT)
        ws.compress(norms, "restore", names=["norm"], teacher=LM, name=RESTORED)
        for model in (LM, NORMS_PRUNED, NORMS_KEPT, RESTORED):
            ws.evaluate(model, HELD_OUT, latency=False)
        for model in (NORMS_PRUNED, NORMS_KEPT, RESTORED):
            ws.compare_generations(LM, model, HELD_OUT)  # the UI's defaults
    finally:
        ws.close()
    return destination


if __name__ == "__main__":
    build_lm_workspace(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
