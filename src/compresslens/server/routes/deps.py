"""Shared dependencies of the route modules."""

from __future__ import annotations

from fastapi import Request

from compresslens.workspace import Workspace


def workspace_of(request: Request) -> Workspace:
    return request.app.state.workspace
