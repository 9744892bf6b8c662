"""Arrow IPC answers: the instances table, per-sample geometry and a model's outputs, read
back with pyarrow and compared with the Python API column by column; JSON pages of outputs."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.analysis.geometry import fragile_robust_samples, sample_geometry
from compresslens.jsonable import jsonable
from compresslens.server.app import create_app
from compresslens.server.arrow import ARROW_STREAM, arrow_table

Q = "base=mlp&model=mlp-70&dataset=digits"


@pytest.fixture
def client(pruned: cl.Workspace) -> TestClient:
    return TestClient(create_app(pruned))


def read_arrow(response) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW_STREAM
    return pyarrow.ipc.open_stream(response.content).read_all()


def metadata(table: pa.Table) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in table.schema.metadata.items()}


def column(table: pa.Table, name: str) -> np.ndarray:
    values = table.column(name).combine_chunks()
    if pa.types.is_dictionary(values.type):
        return np.asarray(values.dictionary_decode().to_pylist(), dtype=str)
    if pa.types.is_fixed_size_list(values.type):
        return values.flatten().to_numpy().reshape(len(values), values.type.list_size)
    return values.to_numpy(zero_copy_only=False)


# ------------------------------------------------------------------ the helper


def test_helper_keeps_types_nan_and_metadata() -> None:
    table = arrow_table(
        {
            "i": np.arange(3),
            "x": np.array([1.0, np.nan, np.inf], dtype=np.float32),
            "h": np.array([0.5, 1.5, 2.5], dtype=np.float16),
            "ok": np.array([True, False, True]),
            "kind": np.array(["a", "b", "a"]),
            "obj": np.array(["x", "y", "x"], dtype=object),
            "top": np.arange(6, dtype=np.int32).reshape(3, 2),
        },
        {"model": "m", "total": 3, "names": ["a", "b"]},
    )
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["i"] == pa.int64() and types["x"] == pa.float32() and types["h"] == pa.float32()
    assert types["ok"] == pa.bool_()
    assert types["kind"] == types["obj"] == pa.dictionary(pa.int32(), pa.string())
    assert types["top"] == pa.list_(pa.int32(), 2)
    assert table.column("x").null_count == 0  # NaN is a float value, not a null
    assert np.isnan(table.column("x").to_numpy()[1])
    assert metadata(table) == {"model": "m", "total": "3", "names": '["a", "b"]'}
    with pytest.raises(ValueError, match="differ in length"):
        arrow_table({"a": np.arange(2), "b": np.arange(3)})


# ------------------------------------------------------------------ /compare/instances


@pytest.mark.parametrize(
    ("query", "sort", "descending"),
    [
        ("", "instance", True),
        ("&flip=correct_to_incorrect&sort=kl", "kl", True),
        ("&flip=changed&sort=confidence&descending=false&by_magnitude=false", "confidence", False),
        ("&label=3&sort=margin_change", "margin_change", True),
    ],
)
def test_instances_arrow_is_the_whole_filtered_sorted_table(
    client: TestClient, pruned: cl.Workspace, query: str, sort: str, descending: bool
) -> None:
    arrow = read_arrow(client.get(f"/api/compare/instances?{Q}{query}&format=arrow"))
    json_body = client.get(f"/api/compare/instances?{Q}{query}&limit=500").json()
    table = pruned.compare("mlp", "mlp-70", "digits").instances()
    assert arrow.column_names == list(table) == json_body["columns"]
    assert arrow.num_rows == json_body["total"]
    order = column(arrow, "instance")
    # the same rows in the same order as the JSON pages
    assert order[:500].tolist() == [row["instance"] for row in json_body["rows"]]
    for name, values in table.items():
        got = column(arrow, name)
        assert got.dtype == values.dtype or got.dtype.kind == values.dtype.kind == "U", name
        np.testing.assert_array_equal(got, values[order], err_msg=name)
    info = metadata(arrow)
    assert info["base"] == "mlp" and info["model"] == "mlp-70" and info["dataset"] == "digits"
    assert json.loads(info["total"]) == arrow.num_rows
    assert info["sort"] == sort and json.loads(info["descending"]) is descending
    assert json.loads(info["class_names"]) == [str(i) for i in range(10)]
    assert pa.types.is_dictionary(arrow.schema.field("flip").type)


def test_instances_arrow_filter_matches_the_python_table(
    client: TestClient, pruned: cl.Workspace
) -> None:
    arrow = read_arrow(
        client.get(f"/api/compare/instances?{Q}&flip=correct_to_incorrect&format=arrow")
    )
    table = pruned.compare("mlp", "mlp-70", "digits").instances()
    wanted = np.flatnonzero(table["flip"] == "correct_to_incorrect")
    assert sorted(column(arrow, "instance").tolist()) == wanted.tolist() != []
    assert set(column(arrow, "flip")) == {"correct_to_incorrect"}
    assert metadata(arrow)["flip"] == "correct_to_incorrect"


def test_instances_arrow_with_no_matching_row_keeps_the_schema(client: TestClient) -> None:
    arrow = read_arrow(client.get(f"/api/compare/instances?{Q}&label=99&format=arrow"))
    full = read_arrow(client.get(f"/api/compare/instances?{Q}&format=arrow"))
    assert arrow.num_rows == 0 and metadata(arrow)["total"] == "0"
    assert arrow.schema.remove_metadata() == full.schema.remove_metadata()


def test_instances_json_is_unchanged_by_the_new_parameter(client: TestClient) -> None:
    plain = client.get(f"/api/compare/instances?{Q}&sort=kl&limit=7").json()
    explicit = client.get(f"/api/compare/instances?{Q}&sort=kl&limit=7&format=json").json()
    assert plain == explicit and len(plain["rows"]) == 7 and plain["limit"] == 7


# ------------------------------------------------------------------ /geometry


def test_geometry_arrow_gives_per_sample_values_and_deltas(
    client: TestClient, pruned: cl.Workspace
) -> None:
    arrow = read_arrow(client.get("/api/geometry?model=mlp-70&base=mlp&format=arrow"))
    labels = pruned.outputs("mlp-70", "digits")["label"]
    model = sample_geometry(*pruned.geometry_inputs("mlp-70", "digits"), labels)
    base = sample_geometry(*pruned.geometry_inputs("mlp", "digits"), labels)
    change = pruned.compare("mlp", "mlp-70", "digits", n_boot=0).geometry()
    assert arrow.column_names == [
        "instance",
        "label",
        "theta_y",
        "feature_norm",
        "margin",
        "delta_theta_y",
        "delta_feature_norm",
        "delta_margin",
        "transition",
    ]
    np.testing.assert_array_equal(column(arrow, "instance"), np.arange(len(labels)))
    np.testing.assert_array_equal(column(arrow, "label"), labels)
    for part, name in (("angle", "theta_y"), ("length", "feature_norm"), ("margin", "margin")):
        np.testing.assert_array_equal(column(arrow, name), model[part])
        np.testing.assert_array_equal(column(arrow, f"delta_{name}"), change["deltas"][part])
    transition = column(arrow, "transition")
    for group, ids in fragile_robust_samples(base["margin"], model["margin"]).items():
        assert sorted(np.flatnonzero(transition == group).tolist()) == sorted(ids.tolist())
        assert len(ids) == len(change["fragility"][group])
    info = metadata(arrow)
    assert (info["model"], info["base"], info["dataset"]) == ("mlp-70", "mlp", "digits")
    assert json.loads(info["total"]) == len(labels) == 1797


def test_geometry_arrow_without_base_or_deltas(client: TestClient, pruned: cl.Workspace) -> None:
    alone = read_arrow(client.get("/api/geometry?model=mlp&format=arrow"))
    assert alone.column_names == ["instance", "label", "theta_y", "feature_norm", "margin"]
    assert "base" not in metadata(alone) and metadata(alone)["dataset"] == "digits"
    labels = pruned.outputs("mlp", "digits")["label"]
    margins = sample_geometry(*pruned.geometry_inputs("mlp", "digits"), labels)["margin"]
    np.testing.assert_array_equal(column(alone, "margin"), margins)
    lean = read_arrow(
        client.get("/api/geometry?model=mlp-70&base=mlp&dataset=digits&deltas=false&format=arrow")
    )
    assert not any(c.startswith("delta_") for c in lean.column_names)
    assert "transition" in lean.column_names


# ------------------------------------------------------------------ /models/{key}/outputs


def test_outputs_arrow_is_every_stored_column(client: TestClient, pruned: cl.Workspace) -> None:
    arrow = read_arrow(client.get("/api/models/mlp-70/outputs?dataset=digits&format=arrow"))
    stored = pruned.outputs("mlp-70", "digits")
    assert arrow.column_names[:4] == ["instance", "label", "prediction", "correct"]
    assert set(arrow.column_names) == {*stored, "correct"}
    for name, values in stored.items():
        got = column(arrow, name)
        assert got.dtype == values.dtype and got.shape == values.shape, name
        np.testing.assert_array_equal(got, values, err_msg=name)
    np.testing.assert_array_equal(column(arrow, "correct"), stored["prediction"] == stored["label"])
    info = metadata(arrow)
    assert info["model"] == "mlp-70" and info["dataset"] == "digits"
    assert info["model_id"] == pruned.model("mlp-70").id
    assert json.loads(info["total"]) == 1797


def test_outputs_arrow_adds_logits_as_fixed_size_lists(
    client: TestClient, pruned: cl.Workspace
) -> None:
    arrow = read_arrow(client.get("/api/models/mlp/outputs?dataset=digits&format=arrow&logits=1"))
    assert arrow.schema.field("logits").type == pa.list_(pa.float32(), 10)
    np.testing.assert_array_equal(
        column(arrow, "logits"), pruned.logits("mlp", "digits").float().numpy()
    )


def test_outputs_json_pages(client: TestClient, pruned: cl.Workspace) -> None:
    stored = pruned.outputs("mlp", "digits")
    first = client.get("/api/models/mlp/outputs?dataset=digits&limit=3").json()
    second = client.get("/api/models/mlp/outputs?dataset=digits&offset=3&limit=3").json()
    tail = client.get("/api/models/mlp/outputs?dataset=digits&offset=1795&limit=1000").json()
    assert [r["instance"] for r in first["rows"]] == [0, 1, 2]
    assert [r["instance"] for r in second["rows"]] == [3, 4, 5]
    assert [r["instance"] for r in tail["rows"]] == [1795, 1796]
    assert first["total"] == 1797 and first["offset"] == 0 and first["limit"] == 3
    assert first["model"] == "mlp" and first["dataset"] == "digits"
    assert first["columns"][:4] == ["instance", "label", "prediction", "correct"]
    row = second["rows"][0]
    for name, values in stored.items():
        assert row[name] == jsonable(values[3]), name
    assert row["correct"] == bool(stored["prediction"][3] == stored["label"][3])
    assert "logits" not in row
    default = client.get("/api/models/mlp/outputs?dataset=digits").json()
    assert len(default["rows"]) == 100
    with_logits = client.get("/api/models/mlp/outputs?dataset=digits&limit=2&logits=true").json()
    logits = pruned.logits("mlp", "digits").float().numpy()
    assert [r["logits"] for r in with_logits["rows"]] == logits[:2].tolist()


# ------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/compare/instances?{Q}&format=csv", 422),
        (f"/api/compare/instances?{Q}&format=arrow&limit=10", 400),
        (f"/api/compare/instances?{Q}&format=arrow&offset=0", 400),
        (f"/api/compare/instances?{Q}&format=arrow&sort=secret", 422),
        ("/api/compare/instances?base=mlp&model=ghost&format=arrow", 404),
        ("/api/geometry?model=mlp&format=parquet", 422),
        ("/api/geometry?model=mlp&format=arrow&bins=10", 400),
        ("/api/geometry?model=mlp&base=mlp-70&format=arrow&limit=5", 400),
        ("/api/geometry?model=ghost&format=arrow", 404),
        ("/api/geometry?model=mlp&dataset=nope&format=arrow", 404),
        ("/api/models/mlp/outputs", 422),
        ("/api/models/mlp/outputs?dataset=", 422),
        ("/api/models/mlp/outputs?dataset=nope", 404),
        ("/api/models/ghost/outputs?dataset=digits", 404),
        ("/api/models/mlp/outputs?dataset=digits&limit=0", 422),
        ("/api/models/mlp/outputs?dataset=digits&limit=1001", 422),
        ("/api/models/mlp/outputs?dataset=digits&offset=-1", 422),
        ("/api/models/mlp/outputs?dataset=digits&format=xml", 422),
        ("/api/models/mlp/outputs?dataset=digits&format=arrow&limit=5", 400),
        ("/api/models/mlp/outputs?dataset=digits&logits=maybe", 422),
    ],
)
def test_bad_arrow_requests_get_a_clear_4xx(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_outputs_without_stored_logits_is_a_404(digits_workspace: cl.Workspace) -> None:
    digits_workspace.evaluate("mlp", "digits", latency=False)
    client = TestClient(create_app(digits_workspace))
    for fmt in ("json", "arrow"):
        response = client.get(f"/api/models/mlp/outputs?dataset=digits&logits=true&format={fmt}")
        assert response.status_code == 404 and "logits" in response.json()["detail"]
    plain = client.get("/api/models/mlp/outputs?dataset=digits&format=arrow")
    assert "logits" not in read_arrow(plain).column_names


def test_outputs_of_an_unevaluated_model_is_a_404(digits_workspace: cl.Workspace) -> None:
    client = TestClient(create_app(digits_workspace))
    response = client.get("/api/models/mlp/outputs?dataset=digits&format=arrow")
    assert response.status_code == 404 and response.json()["detail"]
