"""The server's contract: every route is typed, and routes speak HTTP over the facade only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import compresslens as cl
from compresslens.server import app as app_module
from compresslens.server.app import create_app

SERVER = Path(app_module.__file__).parent
FORBIDDEN = ("compresslens.store", "compresslens.analysis", "sqlalchemy")


def test_every_api_route_declares_its_answer(workspace: cl.Workspace) -> None:
    """A JSON answer names its model; a binary one (Arrow, PNG) declares its media type."""
    paths = create_app(workspace).openapi()["paths"]
    answers = {
        path: op["responses"]["200"]["content"]
        for path, ops in paths.items()
        if path.startswith("/api/")
        for op in ops.values()
    }
    untyped = [path for path, content in answers.items() if "$ref" not in str(content)]
    assert len(answers) >= 22 and untyped == []
    binary = {path: sorted(set(c) - {"application/json"}) for path, c in answers.items()}
    assert binary["/api/compare/instances"] == ["application/vnd.apache.arrow.stream"]
    assert binary["/api/datasets/{key}/instances/{index}"] == ["image/png"]


def test_dependencies_are_defined_once() -> None:
    defined = [
        path.name
        for path in (SERVER / "routes").glob("*.py")
        if "WorkspaceDep = " in path.read_text() or "JobsDep = " in path.read_text()
    ]
    assert defined == ["deps.py"]


@pytest.mark.parametrize("path", sorted(SERVER.rglob("*.py")), ids=lambda p: p.name)
def test_server_modules_import_no_kernel_internals(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
    assert [name for name in imported if name.startswith(FORBIDDEN)] == []


def test_every_api_route_documents_its_error_answers_with_one_error_model(
    workspace: cl.Workspace,
) -> None:
    """401/403 (access), 400/404/422 (bad input) everywhere; a long analysis's GET adds 202
    and 409 (not computed), its POST 202 and 429 (queue full) — all with the ErrorBody."""
    paths = create_app(workspace).openapi()["paths"]
    for path, ops in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401", "403", "404", "422"} <= codes, (method, path)
            error = op["responses"]["404"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
            if method == "post":
                assert {"200", "202", "429"} <= codes, path
                assert "get" in ops and {"202", "409"} <= set(ops["get"]["responses"]), path
    started = sorted(path for path, ops in paths.items() if "post" in ops)
    assert started == [
        "/api/attribution",
        "/api/generations",
        "/api/generations/compare",
        "/api/geometry/map",
        "/api/layers/activations",
        "/api/robustness",
        "/api/sensitivity",
        "/api/tokens/flips",
        "/api/tokens/text",
    ]
