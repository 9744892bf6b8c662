"""A comparison resolves each model once and reads each evaluation row once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app
from compresslens.store.repository import WorkspaceStore


@contextmanager
def counted_queries(store: WorkspaceStore) -> Iterator[list[str]]:
    """Every SQL statement the store's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)


# by name: model 2 queries (by id misses, by name with relations) + its metrics 1, for each
# of the two; the datasets once (the one both were evaluated on); each evaluation row once.
COMPARE_BY_NAME = 3 + 3 + 1 + 2


def test_compare_summary_per_class_and_flips_query_the_store_a_fixed_few_times(
    one_class_lost: cl.Workspace,
) -> None:
    ws = one_class_lost
    with counted_queries(ws.store) as statements:
        comparison = ws.compare("base", "lossy", n_boot=50)
        summary = comparison.summary()
        rows = comparison.per_class()
        flips = comparison.flips()
    assert len(statements) == COMPARE_BY_NAME
    assert sum("FROM evaluations" in s for s in statements) == 2
    assert summary["flips"]["correct_to_incorrect"] == 30
    assert [r["class"] for r in rows] == ["a", "b", "c"]
    assert flips["correct_to_incorrect"] == list(range(80, 110))


def test_compare_by_ids_resolves_a_model_in_two_queries(one_class_lost: cl.Workspace) -> None:
    ws = one_class_lost
    base, lossy, abc = ws.model("base").id, ws.model("lossy").id, ws.dataset("abc").id
    with counted_queries(ws.store) as statements:
        ws.compare(base, lossy, abc).summary()
    assert len(statements) == 2 + 2 + 1 + 2  # two models, the dataset, two evaluation rows


def test_cli_compare_resolves_each_model_once(one_class_lost: cl.Workspace) -> None:
    """`compresslens compare A B --json` opens its own workspace: count on every engine."""
    queries: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        queries.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        result = CliRunner().invoke(
            app, ["compare", "base", "lossy", "--workspace", one_class_lost.location, "--json"]
        )
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["flips"]["correct_to_incorrect"] == 30
    model_lookups = [q for q in queries if "FROM models" in q and "WHERE models." in q]
    assert len(model_lookups) == 2 * 2  # per model: by id (a miss), by name
    assert sum("FROM evaluations" in q for q in queries) == 2
