"""The torch intra-op thread count a computation runs with, set for its duration.

The float reduction order of matmuls and convolutions depends on the thread count, so a
model trained with 2 threads differs (by ~1e-7) from one trained with 1. Every node records
the count it ran with and the executor runs it with the recipe's count, whoever runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def intra_op_threads(threads: int | None) -> Iterator[int]:
    """Run the block with `threads` torch threads (None: as now); yield the count in force."""
    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
