"""Flip-to-layer attribution: which modules of a compressed model cause its flips.

The base's weights of one module (or group of modules) at a time are put back into a copy
of the compressed model (`analysis.module_restoration`), and only the flipped instances
are run again: a flip is undone when the prediction returns to the base's. A greedy search
then finds a small set of groups whose joint restoration undoes at least `target` of them.

"Created" flips are measured on a control sample of unchanged instances (the compressed
model agrees with the base there; at most `control` of them, drawn with a seed): a
restoration creates a flip where it moves such an instance away from the base's answer.
So the cost is bounded: every evaluation runs flips + control instances, never the dataset;
there are 1 (the compressed model as is) + one per group + the greedy steps' evaluations.
Pure: torch and numpy, no I/O; the facade supplies the models, inputs and predictions.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from compresslens.analysis.module_restoration import Unit, restoration_units, restored
from compresslens.data.inputs import Inputs, TensorFields, tensors_of
from compresslens.errors import InvalidChoiceError
from compresslens.models.calling import eval_mode, model_output
from compresslens.models.module_kinds import module_kind

FlipKind = Literal["correct_to_incorrect", "any"]
FLIP_KINDS: tuple[FlipKind, ...] = ("correct_to_incorrect", "any")
Grouping = Literal["modules", "blocks", "kinds"]
GROUPINGS: tuple[Grouping, ...] = ("modules", "blocks", "kinds")
# a module name part that marks attention (GPT-2 "attn", BERT "attention", Llama "self_attn")
ATTENTION_PART = re.compile(r"attn|attention", re.IGNORECASE)
Progress = Callable[[int, int], None]


class FlipAttributionError(InvalidChoiceError):
    """Settings attribution cannot honour: an unknown flip kind or grouping, a bad target."""


# ----------------------------------------------------------------------- records


@dataclass(frozen=True)
class GroupRow:
    """One module or group restored alone: the flips it undoes and creates."""

    module: str
    members: list[str]
    parameters: int
    restorable: bool
    reason: str | None
    unchanged: bool  # every restorable member already holds the base's values: not re-run
    undone: int
    undone_share: float
    created: int
    undone_by_class: dict[str, int]


@dataclass(frozen=True)
class GreedyStep:
    """The greedy set after adding `module`: what the set restored together undoes."""

    module: str
    undone: int
    cumulative_share: float
    created: int


@dataclass(frozen=True)
class ClassFlips:
    """One class's flips and how many of them the greedy set undoes."""

    label: int
    flips: int
    greedy_undone: int


@dataclass(frozen=True)
class AttributionCost:
    """What attribution ran: instances per evaluation, evaluations, forward inputs, seconds."""

    flips: int
    control: int
    evaluations: int
    forward_instances: int
    seconds: float
    seconds_per_group: float
    seconds_per_flip: float


@dataclass(frozen=True)
class FlipAttribution:
    """The ranked groups, the greedy set reaching `target`, per-class flips and the cost."""

    flips: int
    not_reproduced: int  # selected flips the compressed model does not repeat when re-run
    target: float
    rows: list[GroupRow]
    greedy: list[GreedyStep]
    reached: bool
    by_class: list[ClassFlips]
    cost: AttributionCost
    context: dict[str, Any] = field(default_factory=dict)  # names filled in by the facade

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FlipAttribution:
        return cls(
            flips=int(value["flips"]),
            not_reproduced=int(value["not_reproduced"]),
            target=float(value["target"]),
            rows=[GroupRow(**row) for row in value["rows"]],
            greedy=[GreedyStep(**step) for step in value["greedy"]],
            reached=bool(value["reached"]),
            by_class=[ClassFlips(**row) for row in value["by_class"]],
            cost=AttributionCost(**value["cost"]),
            context=dict(value.get("context", {})),
        )

    @property
    def greedy_set(self) -> list[str]:
        return [step.module for step in self.greedy]


# ------------------------------------------------------------------ choosing flips


def check_settings(flips: str, grouping: str, target: float) -> None:
    """Fail before any model runs."""
    if flips not in FLIP_KINDS:
        raise FlipAttributionError(f"flips must be one of {list(FLIP_KINDS)}, got {flips!r}")
    if grouping not in GROUPINGS:
        raise FlipAttributionError(f"groups must be one of {list(GROUPINGS)}, got {grouping!r}")
    if not 0 < target <= 1:
        raise FlipAttributionError(f"target must be within (0, 1], got {target}")


def select_flips(
    labels: np.ndarray,
    base_predictions: np.ndarray,
    model_predictions: np.ndarray,
    flips: str = "correct_to_incorrect",
    class_: int | None = None,
) -> np.ndarray:
    """Indices of the changed instances asked for: correct→incorrect (the base right, the
    model wrong) or any changed prediction; with `class_`, only those labelled `class_`."""
    check_settings(flips, "modules", 1.0)
    changed = base_predictions != model_predictions
    if flips == "correct_to_incorrect":
        changed &= (base_predictions == labels) & (model_predictions != labels)
    if class_ is not None:
        changed &= labels == class_
    return np.flatnonzero(changed)


def control_sample(
    base_predictions: np.ndarray, model_predictions: np.ndarray, size: int, seed: int = 0
) -> np.ndarray:
    """At most `size` unchanged instances, drawn with `seed`, in index order."""
    unchanged = np.flatnonzero(base_predictions == model_predictions)
    if size >= len(unchanged):
        return unchanged
    chosen = np.random.default_rng(seed).choice(unchanged, size=size, replace=False)
    return np.sort(chosen)


# ----------------------------------------------------------------------- grouping


def block_of(name: str) -> str:
    """A module's block: its name up to the first numbered part ("transformer.h.3" of
    "transformer.h.3.attn.c_attn"), else its first part ("classifier")."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: i + 1])
    return parts[0]


def group_units(base: nn.Module, units: Sequence[Unit], grouping: str) -> dict[str, list[str]]:
    """Group name → member unit names. "modules": each alone; "blocks": by `block_of`;
    "kinds": all linear, all conv, all norms, all embeddings, all attention, the rest."""
    groups: dict[str, list[str]] = {}
    for unit in units:
        if grouping == "modules":
            keys = [unit.name]
        elif grouping == "blocks":
            keys = [block_of(unit.name)]
        else:
            kind = module_kind(base.get_submodule(unit.name)) or "other"
            keys = [f"kind:{kind}"]
            if any(ATTENTION_PART.search(part) for part in unit.name.split(".")):
                keys.append("kind:attention")
        for key in keys:
            groups.setdefault(key, []).append(unit.name)
    return groups


# ------------------------------------------------------------------- the attribution


def predictions(model: nn.Module, inputs: Inputs, batch_size: int = 256) -> np.ndarray:
    """Argmax predictions [N] of `model` on `inputs`, batch by batch, in inference mode."""
    total = len(inputs)
    parts: list[np.ndarray] = []
    with eval_mode(model), torch.inference_mode():
        for start in range(0, total, batch_size):
            logits = model_output(model, inputs[start : start + batch_size])
            parts.append(logits.float().argmax(dim=-1).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class _Runner:
    """Evaluates restorations on one working copy, counting evaluations and inputs."""

    working: nn.Module
    base: nn.Module
    inputs: Inputs
    units: dict[str, Unit]
    batch_size: int
    progress: Progress | None
    total: int
    evaluations: int = 0
    forward_instances: int = 0

    def run(self, names: Sequence[str]) -> np.ndarray:
        with restored(self.working, self.base, [self.units[n] for n in names]):
            answer = predictions(self.working, self.inputs, self.batch_size)
        self.evaluations += 1
        self.forward_instances += len(self.inputs)
        if self.progress is not None:
            self.progress(self.evaluations, max(self.total, self.evaluations))
        return answer


def attribute_flips(
    base: nn.Module,
    model: nn.Module,
    inputs: Inputs,
    labels: np.ndarray,
    base_predictions: np.ndarray,
    *,
    control_inputs: Inputs | None = None,
    control_predictions: np.ndarray | None = None,
    grouping: str = "modules",
    target: float = 0.9,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> FlipAttribution:
    """Attribute the flips of `model` (same architecture as `base`) to its modules.

    `inputs`, `labels`, `base_predictions`: the flipped instances only. `control_inputs`
    and `control_predictions` (the base's): a sample of unchanged instances, where created
    flips are counted. Neither model is changed; `model` is copied once."""
    check_settings("any", grouping, target)
    labels, base_predictions = np.asarray(labels), np.asarray(base_predictions)
    started = time.perf_counter()
    units = restoration_units(base, model)
    groups = group_units(base, units, grouping)
    by_name = {u.name: u for u in units}
    # groups worth running: some member restorable and holding values other than the base's
    changed = {
        name
        for name, members in groups.items()
        if any(by_name[m].restorable and not by_name[m].unchanged for m in members)
    }
    everything = _joined(inputs, control_inputs)
    n_control = 0 if control_inputs is None else len(control_inputs)
    reference = np.concatenate([base_predictions, _array(control_predictions, n_control)])
    runner = _Runner(
        copy.deepcopy(model),
        base,
        everything,
        by_name,
        batch_size,
        progress,
        total=1 + len(changed) + len(changed) * (len(changed) - 1) // 2,
    )
    as_is = runner.run([])
    # keep what the compressed model repeats: flips still flipped, controls still unchanged
    n_flips = len(base_predictions)
    flip_kept = as_is[:n_flips] != reference[:n_flips]
    control_kept = as_is[n_flips:] == reference[n_flips:]
    kept = np.concatenate([flip_kept, control_kept])
    flip_labels = labels[flip_kept]

    def score(answer: np.ndarray) -> tuple[np.ndarray, int]:
        """(undone mask over the kept flips, flips created among the kept controls)."""
        back = (answer == reference)[kept]
        count = int(flip_kept.sum())
        return back[:count], int((~back[count:]).sum())

    alone: dict[str, tuple[np.ndarray, int]] = {}
    for name, members in groups.items():
        if name in changed:
            alone[name] = score(runner.run(members))
    flips = int(flip_kept.sum())
    rows = _ranked_rows(groups, units, alone, flip_labels, flips)
    steps, final = _greedy(rows, groups, alone, runner, score, flips, target)
    seconds = time.perf_counter() - started
    return FlipAttribution(
        flips=flips,
        not_reproduced=int(n_flips - flips),
        target=float(target),
        rows=rows,
        greedy=steps,
        reached=bool(flips and steps and steps[-1].cumulative_share >= target),
        by_class=_by_class(flip_labels, final),
        cost=AttributionCost(
            flips=n_flips,
            control=n_control,
            evaluations=runner.evaluations,
            forward_instances=runner.forward_instances,
            seconds=seconds,
            seconds_per_group=seconds / max(len(groups), 1),
            seconds_per_flip=seconds / max(n_flips, 1),
        ),
    )


def _array(values: np.ndarray | None, size: int) -> np.ndarray:
    return np.zeros(0, dtype=np.int64) if values is None else np.asarray(values)[:size]


def _joined(flipped: Inputs, control: Inputs | None) -> Inputs:
    """The flipped instances then the control ones, as one batchable input."""
    if control is None or len(control) == 0:
        return flipped
    if isinstance(flipped, torch.Tensor) and isinstance(control, torch.Tensor):
        return torch.cat([flipped, control])
    left, right = tensors_of(flipped), tensors_of(control)
    return TensorFields({k: torch.cat([left[k], right[k]]) for k in left})


def _ranked_rows(
    groups: Mapping[str, list[str]],
    units: Sequence[Unit],
    alone: Mapping[str, tuple[np.ndarray, int]],
    flip_labels: np.ndarray,
    flips: int,
) -> list[GroupRow]:
    """One row per group, most flips undone first, then fewest created; ties keep order.
    A group's reason names each member it could not restore (the module itself: no name)."""
    by_name = {u.name: u for u in units}
    rows = []
    for name, members in groups.items():
        reasons = [
            by_name[m].reason if m == name else f"{m}: {by_name[m].reason}"
            for m in members
            if not by_name[m].restorable
        ]
        undone, created = alone.get(name, (np.zeros(len(flip_labels), dtype=bool), 0))
        classes, counts = np.unique(flip_labels[undone], return_counts=True)
        rows.append(
            GroupRow(
                module=name,
                members=list(members),
                parameters=sum(by_name[m].parameters for m in members),
                restorable=any(by_name[m].restorable for m in members),
                reason="; ".join(reasons) if reasons else None,
                # restorable yet not run: every restorable member holds the base's values
                unchanged=name not in alone and any(by_name[m].restorable for m in members),
                undone=int(undone.sum()),
                undone_share=float(undone.sum() / flips) if flips else 0.0,
                created=created,
                undone_by_class={str(int(c)): int(n) for c, n in zip(classes, counts, strict=True)},
            )
        )
    rows.sort(key=lambda row: (-row.undone, row.created))
    return rows


def _greedy(
    rows: Sequence[GroupRow],
    groups: Mapping[str, list[str]],
    alone: Mapping[str, tuple[np.ndarray, int]],
    runner: _Runner,
    score: Callable[[np.ndarray], tuple[np.ndarray, int]],
    flips: int,
    target: float,
) -> tuple[list[GreedyStep], np.ndarray]:
    """Add the group that undoes the most flips jointly with those chosen, until `target`
    is reached or no group undoes more; the first step reuses the groups' lone runs."""
    candidates = [row.module for row in rows if row.module in alone]
    chosen: list[str] = []
    steps: list[GreedyStep] = []
    undone = np.zeros(flips, dtype=bool)
    while flips and candidates and undone.sum() / flips < target:
        best: tuple[str, np.ndarray, int] | None = None
        for name in candidates:
            if not chosen:
                mask, created = alone[name]
            else:
                members = list(dict.fromkeys(m for g in [*chosen, name] for m in groups[g]))
                mask, created = score(runner.run(members))
            if best is None or mask.sum() > best[1].sum():
                best = (name, mask, created)
        assert best is not None
        if best[1].sum() <= undone.sum():
            break  # no group undoes more: the target cannot be reached by adding one
        name, undone, created = best
        chosen.append(name)
        candidates.remove(name)
        steps.append(GreedyStep(name, int(undone.sum()), float(undone.sum() / flips), created))
    return steps, undone


def _by_class(flip_labels: np.ndarray, undone: np.ndarray) -> list[ClassFlips]:
    classes = np.unique(flip_labels)
    return [
        ClassFlips(
            label=int(c),
            flips=int((flip_labels == c).sum()),
            greedy_undone=int(((flip_labels == c) & undone).sum()) if undone.size else 0,
        )
        for c in classes
    ]
