"""Behaviour endpoints: the comparison, a page of instances, the agreement matrix."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app

Q = "base=mlp&model=mlp-70&dataset=digits"


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


def test_compare_gives_the_python_summary_classes_and_subgroups(
    client: TestClient, pruned: cl.Workspace
) -> None:
    body = client.get(f"/api/compare?{Q}&n_boot=50").json()
    comparison = pruned.compare("mlp", "mlp-70", "digits", n_boot=50)
    assert body["summary"] == jsonable(comparison.summary())
    assert body["per_class"] == jsonable(comparison.per_class())
    assert [row["value"] for row in body["per_subgroup"]["parity"]] == ["even", "odd"]


@pytest.fixture
def three_flips(workspace: cl.Workspace) -> TestClient:
    """Six instances, all right for "base"; "flipped" gets instance 1 mildly wrong, 3 very
    wrong (KL 7.68) and 5 wrong (KL 2.86), the rest as the base."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    workspace.add_dataset("six", np.zeros((6, 2), np.float32), labels, class_names="abc")
    base = 4 * np.eye(3, dtype=np.float32)[labels]
    flipped = base.copy()
    flipped[1], flipped[3], flipped[5] = [0, 1, 0], [0, 0, 8], [3, 0, 0]
    workspace.log_model("base", outputs={"six": base})
    operation = {"name": "prune.elsewhere"}
    workspace.log_model("flipped", parents=["base"], operation=operation, outputs={"six": flipped})
    return TestClient(create_app(workspace))


def test_instances_come_as_a_sorted_filtered_page(three_flips: TestClient) -> None:
    query = "base=base&model=flipped&flip=correct_to_incorrect&sort=kl&limit=2"
    body = three_flips.get(f"/api/compare/instances?{query}").json()
    assert body["total"] == 3
    assert [(r["instance"], r["label"], r["prediction"]) for r in body["rows"]] == [
        (3, 1, 2),
        (5, 2, 0),
    ]
    assert [r["kl"] for r in body["rows"]] == [
        pytest.approx(7.682, abs=1e-3),
        pytest.approx(2.865, abs=1e-3),
    ]
    ascending = three_flips.get(f"/api/compare/instances?{query}&descending=false&limit=3")
    assert [r["instance"] for r in ascending.json()["rows"]] == [1, 5, 3]
    unchanged = three_flips.get("/api/compare/instances?base=base&model=flipped&flip=unchanged")
    assert [r["instance"] for r in unchanged.json()["rows"]] == [4, 2, 0]


def test_instances_page_on_with_offset(client: TestClient) -> None:
    first = client.get(f"/api/compare/instances?{Q}&sort=instance&descending=false&limit=3")
    second = client.get(
        f"/api/compare/instances?{Q}&sort=instance&descending=false&offset=3&limit=3"
    )
    assert [r["instance"] for r in first.json()["rows"]] == [0, 1, 2]
    assert [r["instance"] for r in second.json()["rows"]] == [3, 4, 5]
    assert first.json()["total"] == 1797


def test_agreement_matches_the_python_matrix(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get("/api/agreement?models=mlp,mlp-70").json()
    assert body == jsonable(pruned.agreement("mlp,mlp-70"))
    assert body["matrix"][0][0] == 1.0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/compare?base=nope&model=mlp-70", 404),
        ("/api/compare?base=mlp", 422),
        (f"/api/compare?{Q}&n_boot=-1", 422),
        ("/api/compare?base=mlp&model=mlp-70&dataset=nope", 404),
        (f"/api/compare/instances?{Q}&limit=0", 422),
        (f"/api/compare/instances?{Q}&limit=100000", 422),
        (f"/api/compare/instances?{Q}&offset=-1", 422),
        (f"/api/compare/instances?{Q}&flip=sideways", 422),
        (f"/api/compare/instances?{Q}&sort=secret", 422),
        ("/api/agreement?models=tag:nothing", 404),
        ("/api/agreement?models=", 422),
        (f"/api/compare?{Q}&n_boot=0", 422),
        ("/api/behaviours?models=mlp-70", 422),
        ("/api/behaviours?base=mlp&models=", 422),
        ("/api/behaviours?base=mlp&models=,,", 422),
        ("/api/behaviours?base=mlp&models=mlp-70&n_boot=0", 422),
        ("/api/behaviours?base=mlp&models=mlp-70&n_boot=5000", 422),
        ("/api/behaviours?base=nope&models=mlp-70", 404),
        ("/api/behaviours?base=mlp&models=mlp-70,ghost", 404),
        ("/api/behaviours?base=mlp&models=mlp-70&dataset=nope", 404),
        ("/api/compare/transitions?base=mlp", 422),
        ("/api/compare/transitions?base=mlp&model=ghost", 404),
        ("/api/compare/calibration?base=mlp&models=", 422),
        ("/api/compare/calibration?base=mlp&models=ghost", 404),
    ],
)
def test_bad_behaviour_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_sorting_by_divergence_without_logits_is_a_400(digits_workspace: cl.Workspace) -> None:
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="half")
    for name in ("mlp", "half"):
        ws.evaluate(name, "digits", latency=False)
    client = TestClient(create_app(ws))
    response = client.get("/api/compare/instances?base=mlp&model=half&sort=kl")
    assert response.status_code == 400 and "logits" in response.json()["detail"]


def test_behaviours_batch_gives_each_model_the_comparison_numbers(
    client: TestClient, pruned: cl.Workspace
) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.9, name="mlp-90")
    pruned.evaluate("mlp-90", "digits", latency=False)
    body = client.get("/api/behaviours?base=mlp&models=mlp-70,mlp-90&dataset=digits&n_boot=50")
    assert body.status_code == 200
    answer = body.json()
    assert answer["base"]["name"] == "mlp" and answer["dataset"] == "digits"
    assert [r["model"]["name"] for r in answer["models"]] == ["mlp-70", "mlp-90"]
    for record in answer["models"]:
        comparison = pruned.compare("mlp", record["model"]["name"], "digits", n_boot=50)
        wanted = jsonable(comparison.summary())
        for key in ("base_accuracy", "model_accuracy", "accuracy_change", "agreement", "flips"):
            assert record["summary"][key] == wanted[key], key
        assert record["summary"]["top_transitions"] == wanted["top_transitions"][:5]
        per_class = jsonable(comparison.per_class())
        assert [r["delta"] for r in record["per_class"]] == [r["delta"] for r in per_class]
        subgroups = jsonable(comparison.per_subgroup())
        assert [r["value"] for r in record["per_subgroup"]["parity"]] == ["even", "odd"]
        assert [r["delta"] for r in record["per_subgroup"]["parity"]] == [
            r["delta"] for r in subgroups["parity"]
        ]


def test_one_model_batch_equals_compare_draw_for_draw(client: TestClient) -> None:
    """A single model shares no bootstrap stream, so its intervals equal /api/compare's."""
    batch = client.get("/api/behaviours?base=mlp&models=mlp-70&dataset=digits&n_boot=50").json()
    single = client.get(f"/api/compare?{Q}&n_boot=50").json()
    assert batch["models"][0]["per_class"] == single["per_class"]
    assert batch["models"][0]["per_subgroup"] == single["per_subgroup"]


def test_behaviours_finds_the_shared_dataset_and_repeats_are_cached(client: TestClient) -> None:
    first = client.get("/api/behaviours?base=mlp&models=mlp-70").json()
    again = client.get("/api/behaviours?base=mlp&models=mlp-70").json()
    assert first["dataset"] == "digits" and first == again


def test_more_than_fifty_models_is_a_clear_422(client: TestClient) -> None:
    models = ",".join(f"m{i}" for i in range(51))
    response = client.get(f"/api/behaviours?base=mlp&models={models}")
    assert response.status_code == 422
    assert "at most 50" in response.json()["detail"]


def test_a_model_not_evaluated_on_the_dataset_is_named(
    client: TestClient, pruned: cl.Workspace
) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.5, name="never-evaluated")
    response = client.get("/api/behaviours?base=mlp&models=mlp-70,never-evaluated&dataset=digits")
    assert response.status_code == 404
    assert "never-evaluated" in response.json()["detail"]


def test_transitions_are_the_comparison_matrix(client: TestClient, pruned: cl.Workspace) -> None:
    body = client.get(f"/api/compare/transitions?{Q}").json()
    matrix = pruned.compare("mlp", "mlp-70", "digits").transitions()
    assert body["matrix"] == matrix.tolist()
    assert body["class_names"] == [str(i) for i in range(10)]
    assert sum(map(sum, body["matrix"])) == 1797


def test_calibration_gives_reliability_curves_per_model(
    client: TestClient, pruned: cl.Workspace
) -> None:
    body = client.get("/api/compare/calibration?base=mlp&models=mlp-70&dataset=digits").json()
    wanted = jsonable(pruned.compare("mlp", "mlp-70", "digits").calibration())
    assert body["base"]["ece"] == wanted["base_ece"]
    assert body["base"]["reliability"] == wanted["base_reliability"]
    [model] = body["models"]
    assert model["name"] == "mlp-70" and model["ece"] == wanted["ece"]
    assert model["reliability"] == wanted["reliability"]


def test_calibration_of_many_models_equals_each_comparison(
    client: TestClient, pruned: cl.Workspace
) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.9, name="mlp-90")
    pruned.evaluate("mlp-90", "digits", latency=False)
    body = client.get("/api/compare/calibration?base=mlp&models=mlp-70,mlp-90,mlp").json()
    assert body["dataset"] == "digits"
    assert [m["name"] for m in body["models"]] == ["mlp-70", "mlp-90", "mlp"]
    for model in body["models"]:
        comparison = pruned.compare("mlp", model["name"], "digits", n_boot=1)
        wanted = jsonable(comparison.calibration())
        assert body["base"] == {
            "id": comparison.base.id,
            "name": "mlp",
            "ece": wanted["base_ece"],
            "reliability": wanted["base_reliability"],
        }
        assert model == {
            "id": comparison.model.id,
            "name": model["name"],
            "ece": wanted["ece"],
            "reliability": wanted["reliability"],
        }
    again = client.get("/api/compare/calibration?base=mlp&models=mlp-70,mlp-90,mlp").json()
    assert again == body  # the second answer comes from cached columns


def test_calibration_names_a_model_not_evaluated(client: TestClient, pruned: cl.Workspace) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.5, name="never-evaluated")
    response = client.get(
        "/api/compare/calibration?base=mlp&models=mlp-70,never-evaluated&dataset=digits"
    )
    assert response.status_code == 404
    assert "never-evaluated" in response.json()["detail"]


@pytest.mark.parametrize(
    "selector", ["mlp-90,mlp,mlp-70", "mlp,mlp", "tag:base,mlp-90", "op:prune.magnitude", "{id}"]
)
def test_agreement_equals_ws_agreement_for_any_selector(
    client: TestClient, pruned: cl.Workspace, selector: str
) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.9, name="mlp-90")
    pruned.evaluate("mlp-90", "digits", latency=False)
    pruned.tag("mlp", "base")
    selector = selector.format(id=pruned.model("mlp-90").id[:8])  # an id prefix
    for dataset in ("", "&dataset=digits"):
        body = client.get(f"/api/agreement?models={selector}{dataset}")
        assert body.status_code == 200
        assert body.json() == jsonable(pruned.agreement(selector, "digits" if dataset else None))


def test_agreement_refuses_a_model_not_evaluated_on_the_dataset(
    client: TestClient, pruned: cl.Workspace
) -> None:
    pruned.compress("mlp", "prune.magnitude", amount=0.5, name="never-evaluated")
    response = client.get("/api/agreement?models=mlp,never-evaluated&dataset=digits")
    assert response.status_code == 400
    assert "never-evaluated" in response.json()["detail"]
    response = client.get("/api/agreement?models=mlp,never-evaluated")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_compare_and_behaviours_name_the_direction_of_each_excess_change(
    one_class_lost: cl.Workspace,
) -> None:
    """Δ = 0 [0, 0] classes of a model that lost are "gain", in both answers."""
    client = TestClient(create_app(one_class_lost))
    single = client.get("/api/compare?base=base&model=lossy&n_boot=200").json()
    batch = client.get("/api/behaviours?base=base&models=lossy&n_boot=200").json()
    for rows in (single["per_class"], batch["models"][0]["per_class"]):
        assert [(r["class"], r["delta"], r["excess"]) for r in rows] == [
            ("a", 0.0, "gain"),
            ("b", 0.0, "gain"),
            ("c", -0.75, "loss"),
        ]
        assert all("significant" not in r for r in rows)


def test_the_schema_documents_the_excess_directions(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]
    for name in ("ClassChange", "SubgroupChange"):
        excess = schemas[name]["properties"]["excess"]
        assert {"enum": ["loss", "gain"], "type": "string"} in excess["anyOf"]
        assert '"loss" = lost more than the model overall' in excess["description"]
        assert '"gain" = fared better than the model overall' in excess["description"]
    assert "class" in schemas["ClassChange"]["required"]
