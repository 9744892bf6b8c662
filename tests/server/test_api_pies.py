"""GET /api/pies: the Python API's PIE numbers per level, a gallery page, clear 4xx."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from factories import MLP_FACTORY

BY_AMOUNT = "/api/pies?baseline=op:train.scratch&compressed=op:prune.magnitude&by=amount"


@pytest.fixture
def populations(digits_workspace: cl.Workspace) -> TestClient:
    """Two trained bases, each pruned to 50% and 90%: populations of two per level."""
    ws = digits_workspace
    ws.evaluate("mlp", "digits", latency=False)
    for seed in range(2):
        base = ws.train(MLP_FACTORY, dataset="digits", seed=seed, epochs=2, lr=0.02)
        ws.evaluate(base, "digits", latency=False)
        for amount in (0.5, 0.9):
            ws.evaluate(
                ws.compress(base, "prune.magnitude", amount=amount), "digits", latency=False
            )
    return TestClient(create_app(ws))


def test_pies_match_the_python_report(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    body = populations.get(
        "/api/pies?baseline=op:train.scratch&compressed=op:prune.magnitude%26amount=0.9"
    ).json()
    direct = digits_workspace.pies("op:train.scratch", "op:prune.magnitude&amount=0.9")
    assert body["by"] is None and len(body["levels"]) == 1
    level = body["levels"][0]
    assert level["summary"] == jsonable(direct["summary"])
    assert level["classes"] == jsonable(direct["classes"])
    assert body["baseline"] == direct["baseline"] and level["compressed"] == direct["compressed"]
    assert body["class_names"] == [str(i) for i in range(10)]
    gallery = body["gallery"]
    assert gallery["total"] == direct["summary"]["pie_count"] == len(direct["pies"])
    assert gallery["rows"] == jsonable(direct["pies"][:40])


def test_pies_by_level_give_one_report_per_amount(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    body = populations.get(BY_AMOUNT).json()
    direct = digits_workspace.pies_by_level("op:train.scratch", "op:prune.magnitude", "amount")
    assert [level["level"] for level in body["levels"]] == [{"amount": 0.5}, {"amount": 0.9}]
    assert all(type(level["level"]["amount"]) is float for level in body["levels"])
    assert [lv["summary"] for lv in body["levels"]] == [jsonable(d["summary"]) for d in direct]
    assert [lv["impacted_classes"] for lv in body["levels"]] == [
        d["impacted_classes"] for d in direct
    ]
    # the gallery pages the last (most compressed) level unless told otherwise
    assert body["gallery"]["level"] == 0.9 and body["gallery"]["level_key"] == "0.9"
    assert [level["key"] for level in body["levels"]] == ["0.5", "0.9"]
    assert body["warnings"] == [] and [lv["warnings"] for lv in body["levels"]] == [[], []]
    assert body["gallery"]["total"] == direct[1]["summary"]["pie_count"]


def test_the_answer_is_aggregates_and_one_page_not_every_pie(populations: TestClient) -> None:
    body = populations.get(BY_AMOUNT).json()
    for level in body["levels"]:
        assert "pies" not in level and "pie_ids" not in level
    assert len(body["gallery"]["rows"]) <= 40


def test_gallery_pages_sorts_and_filters_one_level(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    direct = digits_workspace.pies_by_level("op:train.scratch", "op:prune.magnitude", "amount")
    pies = direct[1]["pies"]
    assert len(pies) > 3, "the fixture should give some PIEs at 90%"
    page = populations.get(f"{BY_AMOUNT}&level=0.9&offset=1&limit=2").json()["gallery"]
    assert page["rows"] == jsonable(pies[1:3])
    assert (page["offset"], page["limit"], page["total"]) == (1, 2, len(pies))

    ordered = populations.get(f"{BY_AMOUNT}&level=0.9&sort=compressed_vote&descending=true")
    votes = [row["compressed_vote"] for row in ordered.json()["gallery"]["rows"]]
    assert votes == sorted(votes, reverse=True)

    label = pies[0]["label"]
    one_class = populations.get(f"{BY_AMOUNT}&level=0.9&label={label}&limit=200").json()
    rows = one_class["gallery"]["rows"]
    assert rows and all(row["label"] == label for row in rows)
    assert one_class["gallery"]["total"] == sum(row["label"] == label for row in pies)

    first = populations.get(f"{BY_AMOUNT}&level=0.5").json()["gallery"]
    assert first["level"] == 0.5 and first["total"] == direct[0]["summary"]["pie_count"]
    as_written = populations.get(f"{BY_AMOUNT}&level=0.50").json()["gallery"]
    assert as_written["level"] == 0.5  # a number is matched by value, as JavaScript writes it


def test_a_population_of_one_is_answered_with_its_warnings(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    response = populations.get("/api/pies?baseline=mlp&compressed=op:prune.magnitude&by=amount")
    assert response.status_code == 200
    body = response.json()
    with pytest.warns(cl.PopulationSizeWarning):
        direct = digits_workspace.pies_by_level("mlp", "op:prune.magnitude", "amount")
    assert [lv["warnings"] for lv in body["levels"]] == [d["warnings"] for d in direct]
    (unequal, single) = body["levels"][0]["warnings"]
    assert "1 baseline and 2 compressed" in unequal and "baseline population is a single" in single
    assert body["warnings"] == [unequal, single]  # every level's, once each
    assert all(row["t"] is None and row["p_value"] is None for row in body["levels"][0]["classes"])


def test_a_repeated_query_reuses_the_reports(populations: TestClient) -> None:
    first = populations.get(f"{BY_AMOUNT}&offset=0&limit=1").json()
    second = populations.get(f"{BY_AMOUNT}&offset=1&limit=1").json()
    assert first["levels"] == second["levels"]
    assert first["gallery"]["total"] == second["gallery"]["total"]


def test_populations_without_a_shared_evaluation_get_a_clear_400(
    populations: TestClient, digits_workspace: cl.Workspace
) -> None:
    inputs = torch.zeros(5, 64)
    digits_workspace.add_dataset("blank", inputs, torch.zeros(5, dtype=torch.long))
    response = populations.get(
        "/api/pies?baseline=op:train.scratch&compressed=op:prune.magnitude&dataset=blank"
    )
    assert response.status_code == 400
    assert "not evaluated on 'blank'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("baseline=tag:none&compressed=op:prune.magnitude", 404),
        ("baseline=op:train.scratch", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&by=nope", 404),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&alpha=2", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&correction=x", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&dataset=nope", 404),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&by=amount&level=0.7", 400),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&level=0.5", 400),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&label=cat", 400),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&sort=loss", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&offset=-1", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&limit=0", 422),
        ("baseline=op:train.scratch&compressed=op:prune.magnitude&limit=201", 422),
    ],
)
def test_bad_pie_requests_get_a_clear_4xx(populations: TestClient, query: str, status: int) -> None:
    response = populations.get(f"/api/pies?{query}")
    assert response.status_code == status
    assert response.json()["detail"]
