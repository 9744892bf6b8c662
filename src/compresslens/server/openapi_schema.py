"""The API's OpenAPI schema as JSON, the source of the front end's generated types.

`python -m compresslens.server.openapi_schema > frontend/src/lib/api-schema.json` (or
`make api-types`); the schema depends on the routes only, so a throwaway empty workspace in a
temporary folder stands in for a real one.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from compresslens.server.app import create_app
from compresslens.workspace import Workspace


def openapi_schema() -> dict[str, Any]:
    """The schema FastAPI serves at /openapi.json, built over an empty temporary workspace."""
    with tempfile.TemporaryDirectory(prefix="compresslens-openapi-") as folder:
        workspace = Workspace(Path(folder) / "workspace")
        try:
            return create_app(workspace).openapi()
        finally:
            workspace.close()


def schema_json(schema: dict[str, Any]) -> str:
    """The committed file's text: two-space indents, keys in FastAPI's order, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(schema_json(openapi_schema()))


if __name__ == "__main__":
    main()
