"""Workspaces with planted regressions for the verdict's tests (logged outputs: no model
runs, milliseconds)."""

from __future__ import annotations

import numpy as np

import compresslens as cl

CLASS_SIZE = 2000
DROPPED = {"ok": 10, "edge": 40, "lossy": 100}
"""Instances of class "c" each model gets wrong; δ_c = 2 points of 2000 is 40 instances."""
ELSEWHERE = {"name": "prune.elsewhere"}


def planted_regressions(ws: cl.Workspace) -> cl.Workspace:
    """ "base" gets every instance of 4 classes × 2000 right; "ok", "edge" and "lossy" lose
    exactly DROPPED[name] instances of class "c" and nothing else. Attribute "side"
    alternates l, r."""
    labels = np.repeat(np.arange(4), CLASS_SIZE)
    side = np.array(["l", "r"] * (labels.size // 2))
    ws.add_dataset(
        "four",
        np.zeros((labels.size, 1), np.float32),
        labels,
        class_names="abcd",
        attributes={"side": side},
    )
    eye = np.eye(4, dtype=np.float32)
    base = eye[labels]
    ws.log_model("base", outputs={"four": base})
    start = 2 * CLASS_SIZE
    for name, dropped in DROPPED.items():
        logits = base.copy()
        logits[start : start + dropped] = eye[3]
        ws.log_model(name, parents=["base"], operation=ELSEWHERE, outputs={"four": logits})
    return ws


def seed_populations(ws: cl.Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Models "base-k" and "comp-k" (k = 0, 1, 2; comp-k derived from base-k), tagged
    pop:base and pop:comp, on a dataset "pair" of 1000 instances; returns the per-seed
    accuracies (base, comp)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 500)
    ws.add_dataset("pair", np.zeros((labels.size, 1), np.float32), labels, class_names="xy")
    eye = np.eye(2, dtype=np.float32)
    accuracies: dict[str, list[float]] = {"base": [], "comp": []}
    for seed in range(3):
        for side, wrong in (("base", 80 + 7 * seed), ("comp", 95 + 11 * seed)):
            predictions = labels.copy()
            flipped = rng.choice(labels.size, wrong, replace=False)
            predictions[flipped] = 1 - predictions[flipped]
            parents = [f"base-{seed}"] if side == "comp" else []
            ws.log_model(
                f"{side}-{seed}",
                parents=parents,
                operation=ELSEWHERE if parents else None,
                outputs={"pair": eye[predictions]},
                tags=[f"pop:{side}"],
            )
            accuracies[side].append(float((predictions == labels).mean()))
    return np.array(accuracies["base"]), np.array(accuracies["comp"])
