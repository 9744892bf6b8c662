"""What a run did, node by node: the CLI prints it, `--json` dumps it, tests assert on it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["done", "cached", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("done", "cached", "failed", "skipped")


@dataclass(frozen=True)
class NodeOutcome:
    """One node's fate; `error` is the traceback of a failure, or which ancestor failed."""

    id: str
    name: str
    stage: str
    seed: int
    label: str
    status: Status
    wall_time_s: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class RunSummary:
    """Outcomes in plan order, with the run's wall time and number of workers."""

    nodes: list[NodeOutcome] = field(default_factory=list)
    workers: int = 1
    wall_time_s: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(n.status for n in self.nodes)
        return {status: found.get(status, 0) for status in STATUSES}

    @property
    def failures(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def of(self, status: Status) -> list[NodeOutcome]:
        return [n for n in self.nodes if n.status == status]

    def stage_rows(self) -> list[list[str]]:
        """A header, then per stage: models, each status's count, and the seconds spent."""
        rows = [["stage", "models", *STATUSES, "seconds"]]
        for stage in dict.fromkeys(n.stage for n in self.nodes):
            nodes = [n for n in self.nodes if n.stage == stage]
            found = Counter(n.status for n in nodes)
            seconds = sum(n.wall_time_s for n in nodes)
            rows.append(
                [
                    stage,
                    str(len(nodes)),
                    *(str(found.get(s, 0)) for s in STATUSES),
                    f"{seconds:.1f}",
                ]
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The `compresslens run --json` document: counts, then one entry per node."""
        return {
            "counts": self.counts,
            "total": len(self.nodes),
            "workers": self.workers,
            "wall_time_s": round(self.wall_time_s, 3),
            "nodes": [asdict(n) for n in self.nodes],
        }
