"""Where two greedy generations from the same prompts part: the first diverging token.

Greedy decoding feeds each token back, so after the first different token the rest is
conditioned on different text and no longer comparable token by token: the first
divergence (and the shared prefix before it) is the honest per-prompt measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from compresslens.errors import InvalidInputError


def first_divergence(base: ArrayLike, model: ArrayLike) -> int | None:
    """The first position where the two token sequences differ; None when identical.

    Sequences of different lengths where one is a prefix of the other part at the shorter
    length."""
    a, b = np.asarray(base).reshape(-1), np.asarray(model).reshape(-1)
    common = min(a.size, b.size)
    differ = np.flatnonzero(a[:common] != b[:common])
    if differ.size:
        return int(differ[0])
    return None if a.size == b.size else common


def shared_prefix_length(base: ArrayLike, model: ArrayLike) -> int:
    """How many leading tokens the two sequences share."""
    first = first_divergence(base, model)
    return int(np.asarray(base).size) if first is None else first


@dataclass(frozen=True)
class GenerationDivergence:
    """Per prompt: the first diverging position (None: identical) and the shared prefix."""

    first: list[int | None]
    shared_prefix: list[int]

    def summary(self) -> dict[str, Any]:
        """Share of identical generations, mean shared prefix, and the mean first divergence
        over the prompts that diverged (None when none did)."""
        diverged = [f for f in self.first if f is not None]
        prompts = len(self.first)
        return {
            "prompts": prompts,
            "identical": prompts - len(diverged),
            "share_identical": (prompts - len(diverged)) / prompts if prompts else None,
            "mean_shared_prefix": float(np.mean(self.shared_prefix)) if prompts else None,
            "mean_first_divergence": float(np.mean(diverged)) if diverged else None,
        }


def generation_divergence(
    base: Sequence[ArrayLike], model: Sequence[ArrayLike]
) -> GenerationDivergence:
    """Compare the generations of two models prompt by prompt (same prompts, same order)."""
    if len(base) != len(model):
        raise InvalidInputError(f"{len(base)} base generations but {len(model)} of the model")
    firsts = [first_divergence(a, b) for a, b in zip(base, model, strict=True)]
    prefixes = [shared_prefix_length(a, b) for a, b in zip(base, model, strict=True)]
    return GenerationDivergence(first=firsts, shared_prefix=prefixes)
