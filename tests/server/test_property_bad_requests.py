"""Generated malformed HTTP requests (unknown keys, long strings, wrong types in query
parameters): each is answered with a 4xx, never a 5xx, and the workspace is unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compresslens as cl
from compresslens.server.app import create_app
from workspace_hash import workspace_hash

# Each route that names models or datasets, with a valid value for every parameter it needs.
VALID: dict[str, dict[str, str]] = {
    "/api/compare": {"base": "base", "model": "other", "dataset": "abc"},
    "/api/compare/instances": {"base": "base", "model": "other", "dataset": "abc"},
    "/api/compare/transitions": {"base": "base", "model": "other", "dataset": "abc"},
    "/api/compare/calibration": {"base": "base", "models": "other", "dataset": "abc"},
    "/api/behaviours": {"base": "base", "models": "other", "dataset": "abc"},
    "/api/agreement": {"models": "base,other", "dataset": "abc"},
    "/api/differences": {"models": "base,other"},
    "/api/geometry": {"model": "other", "dataset": "abc"},
    "/api/geometry/map": {"models": "base,other", "dataset": "abc"},
    "/api/geometry/occlusion": {"model": "other", "dataset": "abc", "index": "0"},
    "/api/layers": {"base": "base", "model": "other"},
    "/api/layers/histogram": {"base": "base", "model": "other", "module": "x"},
    "/api/layers/activations": {"base": "base", "model": "other", "dataset": "abc"},
    "/api/pies": {"baseline": "base", "compressed": "other", "dataset": "abc"},
    "/api/robustness": {"models": "other", "dataset": "abc"},
    "/api/sensitivity": {"model": "other", "dataset": "abc", "operation": "prune.magnitude"},
    "/api/attribution": {"base": "base", "model": "other", "dataset": "abc"},
    "/api/models/other/outputs": {"dataset": "abc"},
    "/api/generations": {"model": "other", "dataset": "abc"},
    "/api/generations/compare": {"base": "base", "model": "other", "dataset": "abc"},
}
KEY_PARAMS = {"base", "model", "models", "dataset", "baseline", "compressed"}
# Typed query parameters of those routes: a value that is not of the type is a 422.
TYPED: dict[str, dict[str, str]] = {
    "/api/compare": {"n_boot": "integer"},
    "/api/compare/instances": {
        "label": "integer",
        "descending": "boolean",
        "by_magnitude": "boolean",
        "offset": "integer",
        "limit": "integer",
    },
    "/api/behaviours": {"n_boot": "integer"},
    "/api/geometry": {"bins": "integer", "limit": "integer", "deltas": "boolean"},
    "/api/geometry/occlusion": {"index": "integer", "patch": "integer", "stride": "integer"},
    "/api/layers/histogram": {"bins": "integer"},
    "/api/layers/activations": {"sample": "integer", "threshold": "number"},
    "/api/pies": {"alpha": "number", "descending": "boolean", "offset": "integer"},
    "/api/robustness": {"limit": "integer", "seed": "integer", "peek": "boolean"},
    "/api/sensitivity": {"limit": "integer", "max_drop": "number", "seed": "integer"},
    "/api/attribution": {"target": "number", "control": "integer", "seed": "integer"},
    "/api/models/other/outputs": {"logits": "boolean", "offset": "integer", "limit": "integer"},
    "/api/generations": {"prompts": "integer", "prompt_tokens": "integer", "length": "integer"},
    "/api/generations/compare": {"prompts": "integer", "length": "integer"},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """Dataset "abc" and two logged models with outputs on it, "base" and "other"."""
    folder: Path = tmp_path_factory.mktemp("bad-requests") / "ws"
    ws = cl.Workspace(folder)
    labels = np.repeat([0, 1, 2], 4)
    ws.add_dataset("abc", np.zeros((12, 4), dtype=np.float32), labels, class_names="abc")
    logits = np.eye(3, dtype=np.float32)[labels]
    ws.log_model("base", outputs={"abc": logits})
    ws.log_model("other", parents=["base"], operation={"name": "x"}, outputs={"abc": logits[::-1]})
    with TestClient(create_app(ws)) as client:
        yield client, str(folder)
    ws.close()


# "?" is in no name here and in no id (hex): such a key names nothing
unknown = st.text(max_size=1000).map(lambda text: "?" + text)
# letters and signs that no parser reads as an integer, a number or a boolean
not_typed = st.text(alphabet="qzk!@#%&*~", min_size=1, max_size=30)


@st.composite
def unknown_key_requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    route = draw(st.sampled_from(sorted(VALID)))
    params = dict(VALID[route])
    named = sorted(KEY_PARAMS & set(params))
    if not named:
        return route.replace("/other/", f"/{quote(draw(unknown), safe='')}/"), params
    params[draw(st.sampled_from(named))] = draw(unknown)
    return route, params


@st.composite
def wrong_type_requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    route = draw(st.sampled_from(sorted(TYPED)))
    params = dict(VALID[route])
    params[draw(st.sampled_from(sorted(TYPED[route])))] = draw(not_typed)
    return route, params


@st.composite
def path_requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    kind = draw(st.sampled_from(["model", "dataset", "instance"]))
    if kind == "model":
        return f"/api/models/{quote(draw(unknown), safe='')}", {}
    if kind == "dataset":
        index = draw(st.integers(0, 11))
        return f"/api/datasets/{quote(draw(unknown), safe='')}/instances/{index}", {}
    index = draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=12), not_typed))
    return f"/api/datasets/abc/instances/{quote(str(index), safe='')}", {}


@settings(
    max_examples=300,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=st.one_of(unknown_key_requests(), wrong_type_requests(), path_requests()))
def test_a_malformed_request_gets_a_4xx_and_changes_nothing(
    served: tuple[TestClient, str], request: tuple[str, dict[str, str]]
) -> None:
    client, folder = served
    before = workspace_hash(folder)
    path, params = request
    response = client.get(path, params=params)
    assert 400 <= response.status_code < 500, (path, params, response.text[:300])
    assert workspace_hash(folder) == before
