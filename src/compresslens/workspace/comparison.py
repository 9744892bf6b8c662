"""What compression changed: comparisons and populations over stored evaluations.

Thin wrappers (like torchmetrics' classes over its functions) that read what evaluation
stored and hand arrays to the pure functions of `compresslens.analysis`. The functions at the
end (`occlusion_attribution`, `evaluate_corruptions`) compose the two layers for one model:
`compresslens.evaluate` runs it and returns raw arrays, `compresslens.analysis` does the math.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from compresslens.analysis.activations import activation_histograms, compare_activations
from compresslens.analysis.geometry import (
    fragile_robust_samples,
    occlusion_maps,
    per_class_angle_length,
    sample_deltas,
    sample_geometry,
)
from compresslens.analysis.populations import (
    class_disparate_impact,
    modal_label,
    pie_summary,
    population_distance_ranking,
    population_size_warnings,
    pruning_identified_exemplars,
    vote_fractions,
)
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
from compresslens.data.corruptions import (
    CORRUPTIONS,
    SEVERITIES,
    condition_images,
    corruption_conditions,
)
from compresslens.errors import (
    CompressLensError,
    IncompatibleDatasetError,
    NotComputedError,
    PopulationSizeWarning,
)
from compresslens.evaluate.activation_capture import capture_activations
from compresslens.evaluate.corruption_runs import predict_classes
from compresslens.evaluate.occlusion import occluded_features
from compresslens.ids import content_id
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo, ModelInfo

if TYPE_CHECKING:
    from compresslens.workspace import Workspace

ANALYSIS_VERSION = 1  # bump when a cached analysis changes its output
FLIP_KINDS = ("correct_to_incorrect", "incorrect_to_correct", "incorrect_to_other_incorrect")


@dataclass
class Comparison:
    """A base model against one other model on one dataset (both evaluated on it)."""

    ws: Workspace
    base: ModelInfo
    model: ModelInfo
    dataset: DatasetInfo
    n_boot: int = 1000
    seed: int = 0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def base_outputs(self) -> dict[str, np.ndarray]:
        return self.ws.outputs(self.base, self.dataset)

    @cached_property
    def model_outputs(self) -> dict[str, np.ndarray]:
        return self.ws.outputs(self.model, self.dataset)

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
            "base": module_weights(self.ws.load_model(self.base.id), include_norms=True),
            "model": module_weights(self.ws.load_model(self.model.id), include_norms=True),
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
        attributes = self.ws.load_dataset(self.dataset.id).attributes
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
                base_logits = self.ws.logits(self.base, self.dataset).float().numpy()
                logits = self.ws.logits(self.model, self.dataset).float().numpy()
            except CompressLensError:
                self._cache["divergence"] = None
            else:
                result = output_divergence(base_logits, logits, self.labels)
                self._cache["divergence"] = {k: v[0] for k, v in result.items()}
        return self._cache["divergence"]

    def _cached(self, kind: str, compute: Any, cached_only: bool = False, **parts: Any) -> Any:
        """Compute once per (base, model, dataset, parts); later calls read the stored JSON.

        With `cached_only`, NotComputedError instead of computing (a server answering fast)."""
        key = content_id(
            kind, ANALYSIS_VERSION, self.base.id, self.model.id, self.dataset.id, parts, length=64
        )
        stored = self.ws.store.cached_result(key)
        if stored is not None:
            return json.loads(stored)
        if cached_only:
            raise NotComputedError(
                f"the {kind} comparison of {self.base.name} and {self.model.name} is not stored yet"
            )
        result = jsonable(compute())
        self.ws.store.cache_result(key, kind, json.dumps(result).encode())
        return result

    def layers(self) -> dict[str, Any]:
        """Per-module weight comparison (sparsity, zero overlap, relative change, SQNR)."""

        def compute() -> dict[str, Any]:
            base_model = self.ws.load_model(self.base.id)
            model = self.ws.load_model(self.model.id)
            return compare_weights(
                module_weights(base_model, include_norms=True),
                module_weights(model, include_norms=True),
                quantized=quantized_modules(model),
            )

        return self._cached("layers", compute)

    def activations(
        self, sample: int = 1024, threshold: float = 0.9, cached_only: bool = False
    ) -> dict[str, Any]:
        """Per-module CKA / cosine / SQNR of activations on the first `sample` instances.

        The models run once per (pair, sample, threshold); the result is stored in the
        workspace and read back afterwards (`cached_only`: NotComputedError if not yet).
        """

        def compute() -> dict[str, Any]:
            inputs = self.ws.load_dataset(self.dataset.id).inputs[:sample]
            base_acts = capture_activations(self.ws.load_model(self.base.id), inputs)
            model_acts = capture_activations(self.ws.load_model(self.model.id), inputs)
            return compare_activations(base_acts, model_acts, threshold=threshold)

        return self._cached(
            "activations", compute, cached_only=cached_only, sample=sample, threshold=threshold
        )

    def activation_histograms(
        self, module: str, sample: int = 1024, bins: int = 50
    ) -> dict[str, Any]:
        """One module's activations in both models on shared bins, to overlay (cached)."""

        def compute() -> dict[str, Any]:
            inputs = self.ws.load_dataset(self.dataset.id).inputs[:sample]
            acts = {
                side: capture_activations(self.ws.load_model(info.id), inputs, modules=[module])
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
            clean, corrupted = self.ws.corrupted_margins(
                info, self.dataset, corruption, severity, limit=limit, seed=seed
            )
            result[side] = fragile_robust_samples(clean, corrupted)
        return {"corruption": corruption, "severity": severity, **result}

    def geometry(self) -> dict[str, Any]:
        """Last-layer geometry of both models and its per-sample change (Li et al.)."""
        base_geom = self.ws.geometry_inputs(self.base, self.dataset)
        model_geom = self.ws.geometry_inputs(self.model, self.dataset)
        num_classes = self.dataset.num_classes
        base_parts = sample_geometry(*base_geom, self.labels)
        model_parts = sample_geometry(*model_geom, self.labels)
        return {
            "base": per_class_angle_length(*base_geom, self.labels, num_classes),
            "model": per_class_angle_length(*model_geom, self.labels, num_classes),
            "deltas": sample_deltas(base_parts, model_parts),
            "fragility": fragile_robust_samples(base_parts["margin"], model_parts["margin"]),
        }


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
                "excess": change["excess"][0, g],
            }
        )
    return rows


def population_predictions(
    ws: Workspace, models: list[ModelInfo], dataset: DatasetInfo
) -> np.ndarray:
    """Predictions [K, N] of a population, every member evaluated on `dataset`."""
    missing = [m.name for m in models if dataset.name not in m.metrics]
    if missing:
        raise IncompatibleDatasetError(
            f"{len(missing)} models are not evaluated on {dataset.name!r}: {missing[:5]}"
        )
    return np.stack([ws.outputs(m, dataset)["prediction"] for m in models])


def pie_report(
    ws: Workspace,
    baseline: list[ModelInfo],
    compressed: list[ModelInfo],
    dataset: DatasetInfo,
    alpha: float = 0.05,
    correction: str = "none",
) -> dict[str, Any]:
    """Hooker et al.'s PIEs and class-level disparate impact for two populations.

    Populations of different sizes or of one model are answered with a PopulationSizeWarning,
    also listed under "warnings"; an empty population is refused.
    """
    if not baseline or not compressed:
        raise CompressLensError(
            f"PIEs compare populations: got {len(baseline)} baseline and {len(compressed)} "
            "compressed models (need at least 1 each, and the same K ≥ 2 for the paper's rule)"
        )
    cautions = population_size_warnings(len(baseline), len(compressed))
    for message in cautions:
        warnings.warn(message, PopulationSizeWarning, stacklevel=3)
    base_preds = population_predictions(ws, baseline, dataset)
    comp_preds = population_predictions(ws, compressed, dataset)
    labels = ws.outputs(baseline[0], dataset)["label"]
    k = dataset.num_classes
    pies = pruning_identified_exemplars(base_preds, comp_preds, k)
    impact = class_disparate_impact(
        labels, base_preds, comp_preds, k, alpha, correction, untestable="nan"
    )
    ids = np.flatnonzero(pies)
    base_votes, comp_votes = vote_fractions(base_preds, k), vote_fractions(comp_preds, k)
    base_modal, comp_modal = modal_label(base_preds, k), modal_label(comp_preds, k)
    classes = [
        {
            "class": dataset.class_names[c],
            "t": impact["t"][c],
            "p_value": impact["p_value"][c],
            "p_adjusted": impact["p_adjusted"][c],
            "normalized_recall_change": impact["normalized_recall_change"][c],
            "impacted": bool(impact["impacted"][c]),
        }
        for c in range(k)
    ]
    ranking = _distance_ranking(ws, baseline, compressed, dataset)
    return {
        "distance_ranking": ranking,
        "dataset": dataset.name,
        "baseline": [m.name for m in baseline],
        "compressed": [m.name for m in compressed],
        "summary": pie_summary(labels, base_preds, comp_preds, pies),
        "impacted_classes": int(np.sum(impact["impacted"])),
        "classes": classes,
        "pies": [
            {
                "instance": int(i),
                "label": dataset.class_names[labels[i]],
                "baseline_modal": dataset.class_names[base_modal[i]],
                "compressed_modal": dataset.class_names[comp_modal[i]],
                "baseline_vote": float(base_votes[i, base_modal[i]]),
                "compressed_vote": float(comp_votes[i, comp_modal[i]]),
            }
            for i in ids
        ],
        "pie_ids": ids.tolist(),
        "warnings": cautions,
    }


def _distance_ranking(
    ws: Workspace,
    baseline: list[ModelInfo],
    compressed: list[ModelInfo],
    dataset: DatasetInfo,
    top: int = 100,
) -> list[dict[str, float]] | None:
    """The `top` instances whose mean output distributions differ most (needs stored logits)."""
    try:
        probs = [
            np.stack([torch.softmax(ws.logits(m, dataset).float(), 1).numpy() for m in group])
            for group in (baseline, compressed)
        ]
    except CompressLensError:
        return None  # some member was evaluated without logits=True
    order, distance = population_distance_ranking(*probs)
    return [{"instance": int(i), "distance": float(distance[i])} for i in order[:top]]


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
