"""The committed OpenAPI schema (the source of the front end's types) is the app's schema.

`make api-types` regenerates `frontend/src/lib/api-schema.json` and, from it, `api-types.ts`;
`npm run check:api-types` (run by `make test`) checks the second against the first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compresslens.server import app as app_module
from compresslens.server.openapi_schema import openapi_schema, schema_json

COMMITTED_SCHEMA = Path(__file__).parents[2] / "frontend" / "src" / "lib" / "api-schema.json"
STALE = "frontend/src/lib/api-schema.json is stale: run `make api-types` and commit the result"


def test_the_committed_schema_is_the_apps_schema() -> None:
    committed = COMMITTED_SCHEMA.read_text(encoding="utf-8")
    schema = openapi_schema()
    assert json.loads(committed) == schema, STALE
    assert committed == schema_json(schema), STALE


def test_the_schema_does_not_depend_on_a_built_front_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(app_module, "STATIC_DIR", tmp_path / "not-built")
    without_build = openapi_schema()
    assert without_build["paths"] and all(p.startswith("/api/") for p in without_build["paths"])
    assert without_build == json.loads(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
