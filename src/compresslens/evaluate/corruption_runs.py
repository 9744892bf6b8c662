"""Running a classifier over (corrupted) images: arg-max predictions, batched, in eval mode.

The corruptions and the validation of a corruption sweep live in
`compresslens.data.corruptions`, the accuracy per condition in `compresslens.analysis.robustness`;
`compresslens.workspace.comparison.evaluate_corruptions` puts them together.
"""

from __future__ import annotations

import torch
from torch import nn


def predict_classes(model: nn.Module, inputs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Arg-max class per input, batched, in eval mode (the model's mode is restored after)."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            parts = [
                model(inputs[i : i + batch_size]).argmax(dim=1)
                for i in range(0, len(inputs), batch_size)
            ]
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)
