"""Flip-to-layer attribution over stored models: which modules cause a compressed model's
flips (`analysis.flip_attribution`), stored once per parameters in the results cache.

The flips come from the two models' stored evaluations on the dataset (so both must have
been evaluated there); only those instances, plus a control sample of unchanged ones, are
run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from compresslens.analysis.flip_attribution import (
    FlipAttribution,
    FlipAttributionError,
    attribute_flips,
    check_settings,
    control_sample,
    select_flips,
)
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.models import ModelCatalog
from compresslens.workspace.results import result_key, stored_result
from compresslens.workspace.sources import DatasetEvaluations

FLIP_ATTRIBUTION_VERSION = 1  # bump when the stored attribution changes its output
DEFAULT_CONTROL = 256  # unchanged instances re-run to count the flips a restoration creates
Progress = Callable[[int, int], None]
ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo


def class_index(data_info: DatasetInfo, class_: int | str | None) -> int | None:
    """A class id from an id or a class name (a digit string is an id), checked in range."""
    if class_ is None:
        return None
    if isinstance(class_, str) and not class_.lstrip("-").isdigit():
        if class_ not in data_info.class_names:
            raise FlipAttributionError(
                f"{data_info.name} has no class {class_!r}; its classes are {data_info.class_names}"
            )
        return data_info.class_names.index(class_)
    index = int(class_)
    if not 0 <= index < data_info.num_classes:
        raise FlipAttributionError(
            f"class must be within [0, {data_info.num_classes - 1}] for {data_info.name}, "
            f"got {index}"
        )
    return index


def flip_attribution(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    *,
    flips: str,
    class_: int | str | None,
    groups: str,
    target: float,
    control: int,
    seed: int,
    progress: Progress | None,
    cached_only: bool,
) -> FlipAttribution:
    """See `FlipAttributionMethods.attribute_flips`."""
    check_settings(flips, groups, target)
    if control < 0:
        raise FlipAttributionError(f"control must be 0 or more, got {control}")
    label = class_index(data_info, class_)
    key = result_key(
        "flip_attribution",
        FLIP_ATTRIBUTION_VERSION,
        base.id,
        model.id,
        data_info.id,
        flips,
        label,
        groups,
        target,
        control,
        seed,
    )
    found = stored_result(
        models.store,
        "flip_attribution",
        key,
        lambda: measure(
            models, base, model, data_info, flips, label, groups, target, control, seed, progress
        ).to_json(),
        cached_only=cached_only,
        missing=f"the flip attribution of {model.name} against {base.name} is not stored yet",
    )
    return FlipAttribution.from_json(found)


def measure(
    models: ModelCatalog,
    base: ModelInfo,
    model: ModelInfo,
    data_info: DatasetInfo,
    flips: str,
    label: int | None,
    groups: str,
    target: float,
    control: int,
    seed: int,
    progress: Progress | None,
) -> FlipAttribution:
    """Read the stored predictions, pick the flips and a control sample, run the kernel."""
    reader = DatasetEvaluations(models, data_info)
    base_out, model_out = reader.outputs(base), reader.outputs(model)
    labels = np.asarray(base_out["label"])
    base_pred, model_pred = np.asarray(base_out["prediction"]), np.asarray(model_out["prediction"])
    chosen = select_flips(labels, base_pred, model_pred, flips, label)
    sample = control_sample(base_pred, model_pred, control, seed)
    inputs = models.datasets.load(data_info.id).inputs
    result = attribute_flips(
        models.load(base.id),
        models.load(model.id),
        inputs[chosen],
        labels[chosen],
        base_pred[chosen],
        control_inputs=inputs[sample],
        control_predictions=base_pred[sample],
        grouping=groups,
        target=target,
        progress=progress,
    )
    context = {
        "base": base.name,
        "model": model.name,
        "dataset": data_info.name,
        "flip_kind": flips,
        "class": label,
        "class_names": list(data_info.class_names),
        "groups": groups,
    }
    return replace(result, context=context)


class FlipAttributionMethods:
    """Mixed into `Workspace`, which defines the model and dataset lookups used here."""

    _models: ModelCatalog

    if TYPE_CHECKING:  # defined by Workspace

        def model(self, model: ModelRef) -> ModelInfo: ...

        def _dataset_of(
            self, models: list[ModelInfo], dataset: DatasetRef | None
        ) -> DatasetInfo: ...

    def attribute_flips(
        self,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        flips: str = "correct_to_incorrect",
        class_: int | str | None = None,
        groups: str = "modules",
        target: float = 0.9,
        control: int = DEFAULT_CONTROL,
        seed: int = 0,
        progress: Progress | None = None,
        cached_only: bool = False,
    ) -> FlipAttribution:
        """Which modules of `model` cause its flips against `base`: the base's weights of one
        module (`groups="modules"`), block (`"blocks"`) or kind (`"kinds"`: all linear, all
        norms, all attention, …) at a time are restored inside a copy of `model`, and only
        the flipped instances (`flips`: "correct_to_incorrect" or "any"; `class_`: only
        instances of that class, an id or a name) are re-run. Each row says how many flips
        the group undoes alone and how many it creates on `control` unchanged instances;
        `greedy` is a small set of groups that together undo at least `target` of them.
        Modules whose shapes changed (structured pruning) or that compute on int8
        activations (static int8) are listed unrestorable with the reason.

        Both models must be evaluated on the dataset. The result is stored per parameters,
        so a second call answers at once; `progress(done, total)` counts evaluations. With
        `cached_only`, NotComputedError is raised instead of running any model.
        """
        base_info, model_info = self.model(base), self.model(model)
        return flip_attribution(
            self._models,
            base_info,
            model_info,
            self._dataset_of([base_info, model_info], dataset),
            flips=flips,
            class_=class_,
            groups=groups,
            target=target,
            control=control,
            seed=seed,
            progress=progress,
            cached_only=cached_only,
        )
