"""FastAPI app over one workspace: typed JSON endpoints plus the static front end.

Each view's routes live in their own module under `routes/`, so adding a view touches one
folder here and one component in the front end.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from compresslens.errors import CompressLensError, NotFoundError, UntrustedCodeError
from compresslens.server import routes
from compresslens.server.access import TOKEN_VARIABLE, Access, AccessMiddleware, is_loopback
from compresslens.server.jobs import MAX_ACTIVE_JOBS, JobRunner
from compresslens.server.routes.deps import ERRORS
from compresslens.workspace import Workspace

# $COMPRESSLENS_STATIC_DIR serves another build of the front end (e.g. a development build)
STATIC_DIR = Path(os.environ.get("COMPRESSLENS_STATIC_DIR") or Path(__file__).parent / "static")
FRONT_END_MISSING = (
    "<!doctype html><title>compresslens</title><p>The compresslens front end is not built: "
    "run <code>make frontend</code> (or <code>make demo</code>). The API is at /api/models.</p>"
)


def route_modules() -> list[APIRouter]:
    """Every `router` under server/routes/, by module name: a new view's module is picked up
    without a central list (the front end discovers its views the same way)."""
    found = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def create_app(
    workspace: Workspace, *, access: Access | None = None, max_jobs: int = MAX_ACTIVE_JOBS
) -> FastAPI:
    """An app bound to `workspace`; errors the user can act on become 4xx with a message.

    `access` is checked on every request (`run_server` always passes one; without it, for
    in-process use such as tests and notebooks, every request passes). At most `max_jobs`
    analysis jobs are queued or running at once.
    """
    app = FastAPI(title="compresslens", version="0.1.0")
    app.state.workspace = workspace
    app.state.jobs = JobRunner(max_active=max_jobs)
    if access is not None:
        app.add_middleware(AccessMiddleware, access=access)

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(UntrustedCodeError)  # the model names code the user has not trusted
    async def untrusted(_request: Request, exc: UntrustedCodeError) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(CompressLensError)
    async def bad_request(_request: Request, exc: CompressLensError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    for router in route_modules():
        app.include_router(router, prefix="/api", responses=ERRORS)
    if (STATIC_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    else:  # a source checkout before `make frontend`: the API works, the page says why not

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        def front_end_missing() -> str:
            return FRONT_END_MISSING

    return app


def run_server(
    workspace: Workspace,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    max_jobs: int = MAX_ACTIVE_JOBS,
) -> None:
    """Serve until Ctrl-C; binds the loopback address unless told otherwise.

    Off loopback every request needs the token (`token`, else $COMPRESSLENS_TOKEN, else a new
    one, printed in the URL to open); on loopback, requests must name a loopback Host.
    """
    access = Access.for_host(host, token or os.environ.get(TOKEN_VARIABLE) or None)
    url_host = f"[{host}]" if ":" in host else host
    query = f"?token={access.token}" if access.token else ""
    if not is_loopback(host):
        print(
            f"warning: compresslens is reachable from the network on {host}:{port} (plain HTTP, "
            "no TLS); only requests with the token below are answered",
            flush=True,
        )
    print(f"compresslens UI for {workspace.location}: http://{url_host}:{port}/{query}", flush=True)
    app = create_app(workspace, access=access, max_jobs=max_jobs)
    # the start-up heap (torch, FastAPI: ~280k objects) leaves the collector's generations, so a
    # full collection no longer rescans it every few requests (bench_api.py: 152 → 92 ms CPU)
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="warning")
