"""A workspace of hand-made models with sizes, for the Pareto tests of the facade and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import compresslens as cl


@pytest.fixture
def sized(workspace: cl.Workspace) -> cl.Workspace:
    """12 instances; "base" all right at 100 bytes; "p5" (8, 9 wrong) and its fine-tuned
    "p5-ft" (the same outputs: a tie) at 50; "p8" (0, 8–11 wrong) at 20; "p8-big" (p8's
    outputs at 60 bytes: dominated by p5); "unsized" (p8's outputs, no size)."""
    labels = np.repeat([0, 1, 2], 4)
    workspace.add_dataset("abc", np.zeros((12, 4), np.float32), labels, class_names="abc")
    eye = np.eye(3, dtype=np.float32)
    base, p5, p8 = eye[labels], eye[labels], eye[labels]
    p5[8:10] = eye[0]
    p8[8:12], p8[0] = eye[0], eye[1]
    op = {"name": "prune.elsewhere"}
    workspace.log_model("base", outputs={"abc": base}, metrics={"compressed_bytes": 100.0})
    for name, parent, logits, size in (
        ("p5", "base", p5, 50.0),
        ("p5-ft", "p5", p5, 50.0),
        ("p8", "base", p8, 20.0),
        ("p8-big", "base", p8, 60.0),
        ("unsized", "base", p8, None),
    ):
        metrics = None if size is None else {"compressed_bytes": size}
        workspace.log_model(
            name, parents=[parent], operation=op, outputs={"abc": logits}, metrics=metrics
        )
    return workspace
