"""What compression changed from a base model to another, over their stored evaluations.

`Comparison` is a thin wrapper (like torchmetrics' classes over its functions) that reads
what evaluation stored through `ComparisonSources` (resolved once by the facade; it never
holds the Workspace) and hands arrays to the pure functions of `compresslens.analysis`.
Populations of models are in `compresslens.workspace.populations`. The functions at the
end (`occlusion_attribution`, `evaluate_corruptions`) compose the two layers for one model:
`compresslens.evaluate` runs it and returns raw arrays, `compresslens.analysis` does the math.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from compresslens.analysis.activations import activation_histograms, compare_activations
from compresslens.analysis.behaviour_batch import FLIP_KINDS
from compresslens.analysis.geometry import (
    fragile_robust_samples,
    occlusion_maps,
    per_class_angle_length,
    sample_deltas,
    sample_geometry,
)
from compresslens.analysis.paired_tests import flip_statistics
from compresslens.analysis.predictions import (
    agreement_rate,
    calibration_change,
    flip_masks,
    output_divergence,
    per_group_accuracy_change,
    top_transitions,
    transition_matrix,
)
from compresslens.analysis.robustness import condition_accuracy
from compresslens.analysis.weights import (
    compare_weights,
    dequantized,
    module_weights,
    quantized_modules,
    weight_histograms,
)
from compresslens.data.arrays import DatasetArrays
from compresslens.data.corruptions import (
    CORRUPTIONS,
    SEVERITIES,
    condition_images,
    corruption_conditions,
)
from compresslens.errors import CompressLensError
from compresslens.evaluate.activation_capture import capture_activations
from compresslens.evaluate.corruption_runs import predict_classes
from compresslens.evaluate.occlusion import occluded_features
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.results import result_key

__all__ = ["FLIP_KINDS", "Comparison", "ComparisonSources"]  # FLIP_KINDS: for older imports

ANALYSIS_VERSION = 1  # bump when a cached analysis changes its output


class ComparisonSources(Protocol):
    """What a comparison reads, for its one dataset: `compresslens.workspace.sources`."""

    def outputs(self, model: ModelInfo) -> dict[str, np.ndarray]: ...

    def logits(self, model: ModelInfo) -> torch.Tensor: ...

    def load_model(self, model: ModelInfo) -> torch.nn.Module: ...

    def dataset_arrays(self) -> DatasetArrays: ...

    def geometry_inputs(self, model: ModelInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def corrupted_margins(
        self, model: ModelInfo, corruption: str, severity: int, limit: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def stored_result(
        self, kind: str, key: str, compute: Callable[[], Any], cached_only: bool, missing: str
    ) -> Any: ...


@dataclass
class Comparison:
    """A base model against one other model on one dataset (both evaluated on it)."""

    sources: ComparisonSources
    base: ModelInfo
    model: ModelInfo
    dataset: DatasetInfo
    n_boot: int = 1000
    seed: int = 0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def base_outputs(self) -> dict[str, np.ndarray]:
        return self.sources.outputs(self.base)

    @property
    def model_outputs(self) -> dict[str, np.ndarray]:
        return self.sources.outputs(self.model)

    @property
    def labels(self) -> np.ndarray:
        return self.base_outputs["label"]

    def _correct(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        return outputs["prediction"] == outputs["label"]

    def summary(self) -> dict[str, Any]:
        """Headline changes: accuracy, agreement, flips, top transitions, calibration."""
        base, model = self.base_outputs, self.model_outputs
        flips = self.flips()
        transitions = transition_matrix(
            base["prediction"], model["prediction"], self.dataset.num_classes
        )
        calibration = calibration_change(
            base["confidence"], self._correct(base), model["confidence"], self._correct(model)
        )
        result: dict[str, Any] = {
            "base": {"id": self.base.id, "name": self.base.name},
            "model": {"id": self.model.id, "name": self.model.name},
            "dataset": self.dataset.name,
            "num_instances": int(self.labels.shape[0]),
            "base_accuracy": float(self._correct(base).mean()),
            "model_accuracy": float(self._correct(model).mean()),
            "accuracy_change": float(self._correct(model).mean() - self._correct(base).mean()),
            "agreement": float(agreement_rate(base["prediction"], model["prediction"])[0]),
            "flips": {kind: len(ids) for kind, ids in flips.items()},
            **flip_statistics(
                len(flips["correct_to_incorrect"]),
                len(flips["incorrect_to_correct"]),
                int(self.labels.shape[0]),
            ),
            "top_transitions": top_transitions(transitions, self.dataset.class_names, k=10),
            "ece": {"base": calibration["base_ece"], "model": float(calibration["ece"][0])},
            "mean_abs_true_prob_change": float(
                np.abs(model["true_prob"] - base["true_prob"]).mean()
            ),
        }
        divergence = self.divergence()
        if divergence is not None:
            result["mean_kl"] = float(divergence["kl"].mean())
            result["mean_js"] = float(divergence["js"].mean())
        return result

    def calibration(self) -> dict[str, Any]:
        """ECE and 15-bin reliability curves of both models (compression shifts confidence)."""
        base, model = self.base_outputs, self.model_outputs
        change = calibration_change(
            base["confidence"], self._correct(base), model["confidence"], self._correct(model)
        )
        return {
            "base_ece": change["base_ece"],
            "ece": float(change["ece"][0]),
            "base_reliability": change["base_reliability"],
            "reliability": change["reliability"][0],
        }

    def weight_histograms(self, module: str, bins: int = 50) -> dict[str, Any]:
        """Both models' weights of one module on shared bins, so they overlay."""
        weights = {
            "base": module_weights(self.sources.load_model(self.base), include_norms=True),
            "model": module_weights(self.sources.load_model(self.model), include_norms=True),
        }
        return weight_histograms(weights, module, bins=bins)

    def flips(self) -> dict[str, list[int]]:
        """Instance ids per flip kind (correct→incorrect, incorrect→correct, other)."""
        masks = flip_masks(
            self.labels, self.base_outputs["prediction"], self.model_outputs["prediction"]
        )
        return {kind: np.flatnonzero(masks[kind][0]).tolist() for kind in FLIP_KINDS}

    def instances(self) -> dict[str, np.ndarray]:
        """One row per instance: both predictions, the flip kind, confidence and divergence."""
        base, model = self.base_outputs, self.model_outputs
        masks = flip_masks(self.labels, base["prediction"], model["prediction"])
        flip = np.full(self.labels.shape, "unchanged", dtype=object)
        for kind in FLIP_KINDS:
            flip[masks[kind][0]] = kind
        table: dict[str, np.ndarray] = {
            "instance": np.arange(self.labels.shape[0]),
            "label": self.labels,
            "base_prediction": base["prediction"],
            "prediction": model["prediction"],
            "flip": flip.astype(str),
            "base_confidence": base["confidence"],
            "confidence": model["confidence"],
            "true_prob_change": model["true_prob"] - base["true_prob"],
            "margin_change": model["margin"] - base["margin"],
        }
        divergence = self.divergence()
        if divergence is not None:
            table["kl"], table["js"] = divergence["kl"], divergence["js"]
        return table

    def transitions(self) -> np.ndarray:
        return transition_matrix(
            self.base_outputs["prediction"],
            self.model_outputs["prediction"],
            self.dataset.num_classes,
        )

    def per_class(self) -> list[dict[str, Any]]:
        """Accuracy change per class with a paired-bootstrap 95% CI; `excess` is "loss" where
        the class lost significantly more than the model overall, "gain" where it fared
        significantly better, else None."""
        change = per_group_accuracy_change(
            self.labels,
            self._correct(self.base_outputs),
            self._correct(self.model_outputs),
            self.labels,
            self.dataset.num_classes,
            n_boot=self.n_boot,
            seed=self.seed,
        )
        return _group_rows(change, self.dataset.class_names, "class")

    def per_subgroup(self) -> dict[str, list[dict[str, Any]]]:
        """The same per value of every per-instance attribute of the dataset."""
        attributes = self.sources.dataset_arrays().attributes
        result = {}
        for name, values in attributes.items():
            levels, codes = np.unique(values.astype(str), return_inverse=True)
            change = per_group_accuracy_change(
                self.labels,
                self._correct(self.base_outputs),
                self._correct(self.model_outputs),
                codes,
                len(levels),
                n_boot=self.n_boot,
                seed=self.seed,
            )
            result[name] = _group_rows(change, levels.tolist(), "value")
        return result

    def divergence(self) -> dict[str, np.ndarray] | None:
        """Per-instance KL, JS, |Δ true-class prob|, Δ margin (needs stored logits for both)."""
        if "divergence" not in self._cache:
            try:
                base_logits = self.sources.logits(self.base).float().numpy()
                logits = self.sources.logits(self.model).float().numpy()
            except CompressLensError:
                self._cache["divergence"] = None
            else:
                result = output_divergence(base_logits, logits, self.labels)
                self._cache["divergence"] = {k: v[0] for k, v in result.items()}
        return self._cache["divergence"]

    def _cached(self, kind: str, compute: Any, cached_only: bool = False, **parts: Any) -> Any:
        """Compute once per (base, model, dataset, parts); later calls read the stored JSON.

        With `cached_only`, NotComputedError instead of computing (a server answering fast)."""
        key = result_key(
            kind, ANALYSIS_VERSION, self.base.id, self.model.id, self.dataset.id, parts
        )
        pair = f"{self.base.name} and {self.model.name}"
        missing = f"the {kind} comparison of {pair} is not stored yet"
        return self.sources.stored_result(kind, key, compute, cached_only, missing)

    def layers(self) -> dict[str, Any]:
        """Per-module weight comparison (sparsity, zero overlap, relative change, SQNR)."""

        def compute() -> dict[str, Any]:
            base_model = self.sources.load_model(self.base)
            model = self.sources.load_model(self.model)
            return compare_weights(
                module_weights(base_model, include_norms=True),
                module_weights(model, include_norms=True),
                quantized=quantized_modules(model),
            )

        return self._cached("layers", compute)

    def activations(
        self,
        sample: int = 1024,
        threshold: float = 0.9,
        cached_only: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Per-module CKA / cosine / SQNR of activations on the first `sample` instances.

        The models run once per (pair, sample, threshold); the result is stored in the
        workspace and read back afterwards (`cached_only`: NotComputedError if not yet).
        `progress(done, 3)`: before the base runs, after it, after the model (then compared).
        """
        report = progress or (lambda done, total: None)

        def compute() -> dict[str, Any]:
            report(0, 3)
            inputs = activation_inputs(self.sources.dataset_arrays().inputs, sample)
            base_acts = capture_activations(self.sources.load_model(self.base), inputs)
            report(1, 3)
            model_acts = capture_activations(self.sources.load_model(self.model), inputs)
            report(2, 3)
            return compare_activations(base_acts, model_acts, threshold=threshold)

        return self._cached(
            "activations", compute, cached_only=cached_only, sample=sample, threshold=threshold
        )

    def activation_histograms(
        self, module: str, sample: int = 1024, bins: int = 50
    ) -> dict[str, Any]:
        """One module's activations in both models on shared bins, to overlay (cached)."""

        def compute() -> dict[str, Any]:
            inputs = activation_inputs(self.sources.dataset_arrays().inputs, sample)
            acts = {
                side: capture_activations(self.sources.load_model(info), inputs, modules=[module])
                for side, info in (("base", self.base), ("model", self.model))
            }
            return activation_histograms(acts, module, bins=bins)

        return self._cached(
            "activation_histograms", compute, module=module, sample=sample, bins=bins
        )

    def corruption_fragility(
        self, corruption: str, severity: int, limit: int = 2000, seed: int = 0
    ) -> dict[str, Any]:
        """Samples whose margin changes sign between clean and corrupted inputs, per model."""
        result = {}
        for side, info in (("base", self.base), ("model", self.model)):
            clean, corrupted = self.sources.corrupted_margins(
                info, corruption, severity, limit, seed
            )
            result[side] = fragile_robust_samples(clean, corrupted)
        return {"corruption": corruption, "severity": severity, **result}

    def geometry(self) -> dict[str, Any]:
        """Last-layer geometry of both models and its per-sample change (Li et al.)."""
        base_geom = self.sources.geometry_inputs(self.base)
        model_geom = self.sources.geometry_inputs(self.model)
        num_classes = self.dataset.num_classes
        base_parts = sample_geometry(*base_geom, self.labels)
        model_parts = sample_geometry(*model_geom, self.labels)
        return {
            "base": per_class_angle_length(*base_geom, self.labels, num_classes),
            "model": per_class_angle_length(*model_geom, self.labels, num_classes),
            "deltas": sample_deltas(base_parts, model_parts),
            "fragility": fragile_robust_samples(base_parts["margin"], model_parts["margin"]),
        }


ACTIVATION_WINDOW = 32
"""Tokens per instance when a token stream's activations are compared (a causal LM)."""


def activation_inputs(inputs: Any, sample: int) -> Any:
    """The first `sample` instances; of a token stream (1-D, a causal LM's dataset), its first
    `sample` tokens as consecutive windows of ACTIVATION_WINDOW tokens, since a language model
    needs context and a single token is no input to it."""
    if isinstance(inputs, torch.Tensor) and inputs.ndim == 1:
        length = min(ACTIVATION_WINDOW, int(inputs.shape[0]))
        count = max(1, min(sample, int(inputs.shape[0])) // length)
        return inputs[: count * length].reshape(count, length)
    return inputs[:sample]


def _group_rows(change: dict[str, np.ndarray], names: list[str], key: str) -> list[dict]:
    rows = []
    for g, name in enumerate(names):
        rows.append(
            {
                key: name,
                "count": int(change["count"][g]),
                "base_accuracy": float(change["base_accuracy"][0, g]),
                "accuracy": float(change["accuracy"][0, g]),
                "delta": float(change["delta"][0, g]),
                "delta_low": float(change["delta_low"][0, g]),
                "delta_high": float(change["delta_high"][0, g]),
                "excess_delta": float(change["excess_delta"][0, g]),
                "p_value": float(change["p_value"][0, g]),
                "p_adjusted": float(change["p_adjusted"][0, g]),
                "excess": change["excess"][0, g],
            }
        )
    return rows


def classifier_parameters(
    model: torch.nn.Module, module_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """W [C, D] and b [C] of the final linear layer, dequantized when needed."""
    module = dict(model.named_modules())[module_name]
    weight = module.weight() if callable(module.weight) else module.weight
    bias = module.bias() if callable(module.bias) else module.bias
    W = dequantized(weight).detach().float().numpy()
    b = np.zeros(W.shape[0]) if bias is None else dequantized(bias).detach().float().numpy()
    return W, b


# ---------------------------------------------------------------- one model: run, then analyse


def occlusion_attribution(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: int,
    patch: int = 4,
    stride: int = 4,
    feature_module: str = "classifier",
    fill: float = 0.0,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Maps [H', W'] of the change in θ_y, ‖f‖ and m when each patch of `x` is set to `fill`.

    H' = (H − patch) // stride + 1. Positive means occluding the patch raised the quantity
    (for the margin: made the true class safer). Runs the model on all occluded copies, batched
    (`compresslens.evaluate.occlusion.occluded_features`), then computes the maps
    (`compresslens.analysis.geometry.occlusion_maps`). Raises GeometryError.
    """
    run = occluded_features(model, x, patch, stride, feature_module, fill, batch_size)
    return occlusion_maps(run.features, run.weight, run.bias, y, run.grid)


def evaluate_corruptions(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    batch_size: int = 256,
    seed: int = 0,
    clean: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, int], float]:
    """Accuracy per (corruption, severity), plus ("clean", 0) when `clean`; runs the model.

    Every condition is checked before the model runs (CorruptionError). Each corrupted copy of
    the whole input is built at once (the noise does not depend on the batch size) and dropped
    once predicted. For robustness_table, key the result by model: {(name, c, s): acc, ...}.
    `progress(done, total)` is called after each condition, for long sweeps.
    """
    conditions = corruption_conditions(inputs, labels, corruptions, severities, clean)
    predictions = {}
    for done, (name, severity) in enumerate(conditions, start=1):
        images = condition_images(inputs, name, severity, seed)
        predictions[(name, severity)] = predict_classes(model, images, batch_size)
        if progress is not None:
            progress(done, len(conditions))
    return condition_accuracy(predictions, labels)
