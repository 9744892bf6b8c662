"""The views the UI shows, as methods of `Workspace`: one call per view, the answer a page
(or `compresslens <command> --json`) shows, JSON-ready.

A mixin, so that the facade stays one class while each file stays short. Each method
delegates to the module of its family (behaviours, populations, layers, geometry,
differences, stored_outputs); the server's routes and the CLI's commands call these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from compresslens.data.corruptions import CORRUPTIONS, SEVERITIES
from compresslens.jsonable import jsonable
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace import behaviours as behaviour_views
from compresslens.workspace import differences as difference_views
from compresslens.workspace import geometry as geometry_views
from compresslens.workspace import layers as layer_views
from compresslens.workspace import populations
from compresslens.workspace.selectors import common_datasets
from compresslens.workspace.stored_outputs import output_columns
from compresslens.workspace.tables import ColumnTable

if TYPE_CHECKING:
    from compresslens.workspace.core import Workspace

ModelRef = str | ModelInfo
DatasetRef = str | DatasetInfo


def _ref(value: ModelRef | DatasetRef) -> str:
    return value if isinstance(value, str) else value.id


def _refs(models: str | Sequence[ModelRef]) -> str:
    """A selector, or a sequence of models as the comma list of their ids or names."""
    return models if isinstance(models, str) else ",".join(_ref(m) for m in models)


def _optional(dataset: DatasetRef | None) -> str | None:
    return None if dataset is None else _ref(dataset)


class ViewMethods:
    """Mixed into `Workspace`; `self` is the Workspace."""

    # -- Behaviours ----------------------------------------------------------------------
    def behaviours(
        self: Workspace,
        base: ModelRef,
        models: str | Sequence[ModelRef],
        dataset: DatasetRef | None = None,
        *,
        n_boot: int = 200,
    ) -> dict[str, Any]:
        """Per model versus `base`: {model, summary, per_class, per_subgroup}, in one pass
        (the Behaviours view). `models` are ids, names or id prefixes (a comma list or a
        sequence); the dataset is the named one or the first all are evaluated on."""
        return behaviour_views.behaviours(
            self, _ref(base), _refs(models), _optional(dataset), n_boot=n_boot
        )

    def compare_view(
        self: Workspace,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        n_boot: int = 1000,
    ) -> dict[str, Any]:
        """`compare`'s headline: {summary, per_class, per_subgroup} with 95% intervals."""
        return behaviour_views.comparison(
            self, _ref(base), _ref(model), _optional(dataset), n_boot=n_boot
        )

    def calibration(
        self: Workspace,
        base: ModelRef,
        models: str | Sequence[ModelRef],
        dataset: DatasetRef | None = None,
    ) -> dict[str, Any]:
        """ECE and 15-bin reliability curves of the base and each model (the Behaviours
        view's calibration chart): {dataset, base, models: [{id, name, ece, reliability}]}."""
        return behaviour_views.calibration(self, _ref(base), _refs(models), _optional(dataset))

    def transitions(
        self: Workspace, base: ModelRef, model: ModelRef, dataset: DatasetRef | None = None
    ) -> dict[str, Any]:
        """Counts [C, C]: row = the base's predicted class, column = the model's."""
        return behaviour_views.transitions(self, _ref(base), _ref(model), _optional(dataset))

    def instances(
        self: Workspace,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        flip: str = "any",
        label: int | None = None,
        sort: str = "instance",
        descending: bool = True,
        by_magnitude: bool = True,
    ) -> ColumnTable:
        """The per-instance table of a pair kept by flip kind ("any", "changed", "unchanged"
        or a kind) and true class, sorted by a column (|value| with `by_magnitude`);
        `.page(offset, limit)` is the JSON page the view shows."""
        return behaviour_views.instances(
            self,
            _ref(base),
            _ref(model),
            _optional(dataset),
            flip=flip,
            label=label,
            sort=sort,
            descending=descending,
            by_magnitude=by_magnitude,
        )

    def output_table(
        self: Workspace, model: ModelRef, dataset: DatasetRef, *, logits: bool = False
    ) -> ColumnTable:
        """A model's stored outputs on a dataset with `correct` (prediction == label) after
        label and prediction, and with `logits` its stored logits (float32)."""
        info, data = self.model(model), self.dataset(dataset)
        columns = output_columns(self.outputs(info.id, data.id))
        if logits:  # NotFoundError when the evaluation kept none
            columns["logits"] = self.logits(info.id, data.id).float().numpy()
        context = {
            "model": info.name,
            "model_id": info.id,
            "dataset": data.name,
            "class_names": data.class_names,
            "total": int(columns["label"].shape[0]),
        }
        return ColumnTable(context, columns)

    # -- Populations ---------------------------------------------------------------------
    def pies_view(
        self: Workspace,
        baseline: str | Sequence[ModelRef],
        compressed: str | Sequence[ModelRef],
        by: str | None = None,
        dataset: DatasetRef | None = None,
        *,
        alpha: float = 0.05,
        correction: str = "none",
        level: str | None = None,
        label: str | None = None,
        sort: str = "instance",
        descending: bool = False,
        offset: int = 0,
        limit: int = 40,
    ) -> dict[str, Any]:
        """The PIE view: per level of `by` (or once) the aggregates, and one page of the PIE
        gallery of `level` (its text, e.g. "0.9"; by default the last, most compressed one),
        optionally of one true class (`label`), sorted by instance or a vote fraction.

        The reports are kept in memory per (models, metrics, options): paging is cheap.
        """
        chosen = (self.select(baseline), self.select(compressed))
        data = _optional(dataset)
        key = (id(self), self.location, populations.reports_key(chosen), by, data)
        key += (alpha, correction)

        def compute() -> list[dict[str, Any]]:
            if by is None:
                return [{"level": None, **self._pies(*chosen, data, alpha, correction)}]
            return self.pies_by_level(
                chosen[0], chosen[1], by, data, alpha=alpha, correction=correction
            )

        view = populations.pies_view(
            populations.cached_reports(key, compute),
            by,
            level=level,
            label=label,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        return jsonable(view)

    # -- Layers --------------------------------------------------------------------------
    def layers(
        self: Workspace, base: ModelRef, model: ModelRef, dataset: DatasetRef | None = None
    ) -> dict[str, Any]:
        """Per-module weight comparison of a pair: {base, model, layers} (stored)."""
        return layer_views.layers(self, _ref(base), _ref(model), _optional(dataset))

    def layer_histogram(
        self: Workspace,
        base: ModelRef,
        model: ModelRef,
        module: str,
        dataset: DatasetRef | None = None,
        *,
        bins: int = 50,
    ) -> dict[str, Any]:
        """Both models' weights of one module on shared bins, to overlay."""
        return layer_views.layer_histogram(
            self, _ref(base), _ref(model), module, _optional(dataset), bins
        )

    def activations(
        self: Workspace,
        base: ModelRef,
        model: ModelRef,
        dataset: DatasetRef | None = None,
        *,
        sample: int = 1024,
        threshold: float = 0.9,
        cached_only: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Per-module CKA / cosine / SQNR of both models' activations on the first `sample`
        instances and the first diverging module per CKA threshold (runs both models once,
        then stored; `cached_only`: NotComputedError instead of running them; `progress(done,
        3)` before the base runs, after it and after the model)."""
        return layer_views.activations(
            self,
            _ref(base),
            _ref(model),
            _optional(dataset),
            sample=sample,
            threshold=threshold,
            cached_only=cached_only,
            progress=progress,
        )

    # -- Geometry ------------------------------------------------------------------------
    def geometry_view(
        self: Workspace,
        model: ModelRef,
        *,
        base: ModelRef | None = None,
        dataset: DatasetRef | None = None,
        bins: int | None = None,
        limit: int | None = None,
        deltas: bool = True,
    ) -> dict[str, Any]:
        """`geometry`, with `base` the change versus it (per-sample deltas unless `deltas` is
        False; the first `limit` samples turning fragile or robust), with `bins` a margin
        histogram of both on shared edges: the Geometry view's answer."""
        return geometry_views.geometry_view(
            self,
            _ref(model),
            base=_optional(base),
            dataset=_optional(dataset),
            bins=bins,
            limit=limit,
            deltas=deltas,
        )

    def geometry_samples(
        self: Workspace,
        model: ModelRef,
        *,
        base: ModelRef | None = None,
        dataset: DatasetRef | None = None,
        deltas: bool = True,
    ) -> ColumnTable:
        """One row per sample: instance, label, theta_y, feature_norm, margin; with `base`
        the deltas (unless `deltas` is False) and the fragile/robust transition."""
        columns, context = geometry_views.sample_table(
            self, _ref(model), _optional(base), _optional(dataset), deltas
        )
        return ColumnTable(context, columns)

    def occlusion_view(
        self: Workspace,
        model: ModelRef,
        dataset: DatasetRef,
        index: int,
        *,
        patch: int = 4,
        stride: int = 4,
    ) -> dict[str, Any]:
        """`occlusion` plus the instance's label and the image's [H, W]."""
        return geometry_views.occlusion_view(
            self, _ref(model), _ref(dataset), index, patch=patch, stride=stride
        )

    # -- Selection -----------------------------------------------------------------------
    def differences(self: Workspace, models: str | Sequence[ModelRef]) -> dict[str, Any]:
        """What differs between the selected models' provenance, and what they share
        (Selection details): {ancestor, chains, slots, variables, shared, varying}."""
        return difference_views.differences(self, models)

    def selection(self: Workspace, selector: str) -> dict[str, Any]:
        """The ids `select(selector)` picks and the names of the datasets every one of them
        is evaluated on (in registration order): what a client needs to offer choices."""
        chosen = self.select(selector)
        shared = common_datasets(self.datasets(), chosen)
        return {
            "selector": selector,
            "ids": [m.id for m in chosen],
            "datasets": [d.name for d in shared],
        }

    def corruptions(self: Workspace) -> dict[str, list[Any]]:
        """The corruptions and severities `robustness` generates (the names it accepts)."""
        return {"corruptions": list(CORRUPTIONS), "severities": list(SEVERITIES)}
