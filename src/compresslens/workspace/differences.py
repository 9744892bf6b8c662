"""What differs between selected models, read from their provenance (Selection details).

Each model's lineage (root → model along the primary parent; a distillation teacher is a
parameter, not the lineage) is cut at the deepest model every lineage shares; the remaining
steps are aligned into slots by operation family ("prune", "quantize", "train", …: the k-th
step of one family is "family #k"; the root, when nothing is shared, is the "origin" slot).
Per slot come the variables: is the step present, which operation is it, and each
parameter's value (seed and teacher included). Variables that split the models the same way
are merged (aliases), variables with one value are "shared" facts. Pure but for `differences`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from compresslens.records import ModelInfo

if TYPE_CHECKING:
    from compresslens.workspace.core import ModelRef, Workspace

NONE = "(none)"  # a slot that a model's lineage does not have
UNSET = "(unset)"  # a parameter that the slot's operation does not set
IMPORTED = "(imported)"  # the operation of a root model that came without one
NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


@dataclass(frozen=True)
class Provenance:
    """What the rule reads of a model: its name and the edge that produced it."""

    id: str
    name: str
    operation: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    parents: Sequence[tuple[str, str]] = ()  # (parent id, role)
    seed: int | None = None

    @classmethod
    def of(cls, model: ModelInfo) -> Provenance:
        op = model.operation
        if op is None:
            return cls(model.id, model.name)
        parents = tuple((p["id"], p.get("role", "input")) for p in op.parents)
        return cls(model.id, model.name, op.name, dict(op.params), parents, op.seed)

    def primary_parent(self) -> str | None:
        """The first parent that is not a teacher (else the first)."""
        if not self.parents:
            return None
        return next((pid for pid, role in self.parents if role != "teacher"), self.parents[0][0])


@dataclass(frozen=True)
class Step:
    slot: str
    op: str
    params: dict[str, Any]
    seed: int | None
    teacher: str | None
    model_id: str
    model_name: str


def lineage(model: Provenance, by_id: Mapping[str, Provenance]) -> list[Provenance]:
    """Root → model along the primary parent; stops at missing parents and cycles."""
    out, seen, current = [model], {model.id}, model
    while (pid := current.primary_parent()) is not None and pid in by_id and pid not in seen:
        current = by_id[pid]
        out.append(current)
        seen.add(current.id)
    return out[::-1]


def shared_prefix_length(lineages: Sequence[Sequence[Provenance]]) -> int:
    """Length of the common prefix (by id) of every lineage."""
    n = 0
    while lineages and all(len(line) > n and line[n].id == lineages[0][n].id for line in lineages):
        n += 1
    return n


def family_of(op: str) -> str:
    """Operation family: "prune.magnitude" → "prune"."""
    return op.split(".", 1)[0]


def number_label(value: float) -> str:
    """A number as JavaScript writes it (1.0 → "1"), so labels match the browser's JSON."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value)).replace("e-0", "e-").replace("e+0", "e+")


def value_label(value: Any, missing: bool = False) -> str:
    """A readable, stable label for a parameter value."""
    if missing:
        return UNSET
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_label(value)
    return json.dumps(value, separators=(",", ":"))


def steps_after(
    line: Sequence[Provenance], shared: int, by_id: Mapping[str, Provenance]
) -> list[Step]:
    """The steps of one lineage after the shared prefix, each given its slot."""
    counts: dict[str, int] = {}
    steps = []
    for i, model in enumerate(line[shared:]):
        op = model.operation or IMPORTED
        if shared == 0 and i == 0:
            slot = "origin"
        else:
            family = family_of(op)
            counts[family] = counts.get(family, 0) + 1
            slot = family if counts[family] == 1 else f"{family} #{counts[family]}"
        teacher = next((pid for pid, role in model.parents if role == "teacher"), None)
        teacher_name = (
            None if teacher is None else (by_id[teacher].name if teacher in by_id else teacher)
        )
        steps.append(
            Step(slot, op, dict(model.params), model.seed, teacher_name, model.id, model.name)
        )
    return steps


def natural_key(text: str) -> list[Any]:
    """Text with digit runs compared as numbers ("b2" before "b10"), case aside first."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text.casefold())
    ]


def label_order(label: str) -> tuple[Any, ...]:
    """(none)/no first, then (unset), then numbers by value, then the rest naturally."""
    rank = 0 if label in (NONE, "no") else 1 if label == UNSET else 2
    if NUMBER.match(label):
        return (rank, 0, float(label), natural_key(label), label)
    return (rank, 1, 0.0, natural_key(label), label)


def levels_of(value_of: Mapping[str, str], ids: Sequence[str]) -> list[dict[str, Any]]:
    """Ids grouped by their label; levels sorted (none/no first, numbers ascending)."""
    by: dict[str, list[str]] = {}
    for model_id in ids:
        by.setdefault(value_of[model_id], []).append(model_id)
    return [{"label": label, "ids": by[label]} for label in sorted(by, key=label_order)]


def variable(
    kind: str, key: str, label: str, slot: str, ids: Sequence[str], value: Callable[[str], str]
) -> dict[str, Any]:
    value_of = {model_id: value(model_id) for model_id in ids}
    levels = levels_of(value_of, ids)
    return {
        "key": key,
        "label": label,
        "kind": kind,
        "slot": slot,
        "levels": levels,
        "value_of": value_of,
        "aliases": [],
    }


def param_names(steps: Sequence[Step]) -> list[str]:
    names = list(dict.fromkeys(name for step in steps for name in step.params))
    if any(step.seed is not None for step in steps):
        names.append("seed")
    if any(step.teacher is not None for step in steps):
        names.append("teacher")
    return names


def param_value(step: Step, name: str) -> str:
    if name == "seed" and name not in step.params:
        return UNSET if step.seed is None else str(step.seed)
    if name == "teacher" and name not in step.params:
        return step.teacher or UNSET
    return value_label(step.params.get(name), missing=name not in step.params)


def slot_variables(
    slot: str, ids: Sequence[str], chains: Mapping[str, list[Step]]
) -> list[dict[str, Any]]:
    """Candidate variables of one slot: presence, operation type, then each parameter."""
    step_of = {model_id: step for model_id in ids for step in chains[model_id] if step.slot == slot}
    steps = list(step_of.values())
    ops = sorted({s.op for s in steps})
    short = " / ".join(op if family_of(op) == op else op[len(family_of(op)) + 1 :] for op in ops)
    out = []
    if slot != "origin":
        out.append(
            variable(
                "presence",
                f"{slot}:present",
                f"has {slot} step ({short})",
                slot,
                ids,
                lambda m: "yes" if m in step_of else "no",
            )
        )
    out.append(
        variable(
            "type",
            f"{slot}:op",
            f"{slot} operation",
            slot,
            ids,
            lambda m: step_of[m].op if m in step_of else NONE,
        )
    )
    for name in param_names(steps):
        out.append(
            variable(
                "param",
                f"{slot}:param:{name}",
                f"{slot} · {name}",
                slot,
                ids,
                lambda m, n=name: param_value(step_of[m], n) if m in step_of else NONE,
            )
        )
    if slot == "origin":
        out.append(
            variable(
                "origin",
                "origin:model",
                "origin model",
                slot,
                ids,
                lambda m: step_of[m].model_name if m in step_of else NONE,
            )
        )
    return out


def varying_params(slots: Sequence[str], chains: Mapping[str, list[Step]]) -> dict[str, list[str]]:
    """Per slot, the parameter names whose value differs among the steps of that slot."""
    out = {}
    for slot in slots:
        steps = [s for chain in chains.values() for s in chain if s.slot == slot]
        out[slot] = [n for n in param_names(steps) if len({param_value(s, n) for s in steps}) > 1]
    return out


def find_differences(
    models: Sequence[Provenance], by_id: Mapping[str, Provenance]
) -> dict[str, Any]:
    """What differs between the models (2+ for anything to differ) and what they share:
    {ancestor, chains, slots, variables, shared, varying}."""
    unique = list({m.id: m for m in models}.values())
    ids = [m.id for m in unique]
    lines = [lineage(m, by_id) for m in unique]
    shared = shared_prefix_length(lines)
    ancestor = lines[0][shared - 1] if shared > 0 else None
    chains = {m.id: steps_after(line, shared, by_id) for m, line in zip(unique, lines, strict=True)}
    slots = list(dict.fromkeys(step.slot for model_id in ids for step in chains[model_id]))
    pipeline = variable(
        "pipeline",
        "pipeline",
        "operation sequence",
        "",
        ids,
        lambda m: " → ".join(s.op for s in chains[m]) or NONE,
    )
    candidates = [pipeline, *(v for slot in slots for v in slot_variables(slot, ids, chains))]
    variables: list[dict[str, Any]] = []
    facts: list[dict[str, str]] = []
    by_partition: dict[tuple[tuple[str, ...], ...], dict[str, Any]] = {}
    for candidate in candidates:
        if len(candidate["levels"]) < 2:
            # "has prune step: yes" for all says nothing the shared operation does not
            if candidate["kind"] != "presence":
                label = candidate["slot"] if candidate["kind"] == "type" else candidate["label"]
                first = candidate["levels"][0]["label"] if candidate["levels"] else NONE
                facts.append({"label": label, "value": first})
            continue
        partition = tuple(sorted(tuple(sorted(level["ids"])) for level in candidate["levels"]))
        if partition in by_partition:
            by_partition[partition]["aliases"].append(candidate["label"])
        else:
            by_partition[partition] = candidate
            variables.append(candidate)
    return {
        "ancestor": None if ancestor is None else {"id": ancestor.id, "name": ancestor.name},
        "chains": {model_id: [asdict(s) for s in chain] for model_id, chain in chains.items()},
        "slots": slots,
        "variables": variables,
        "shared": facts,
        "varying": varying_params(slots, chains),
    }


def differences(ws: Workspace, models: str | Sequence[ModelRef]) -> dict[str, Any]:
    """`find_differences` of the selected models, their lineages read from the workspace."""
    chosen = ws.select(models)
    by_id = {m.id: Provenance.of(m) for m in ws.models()}
    return find_differences([by_id[m.id] for m in chosen], by_id)
