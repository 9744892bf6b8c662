"""Every analysis the UI shows is one API route, one `Workspace` method and one CLI command
with --json: a view added without its Python or CLI twin fails here."""

from __future__ import annotations

import inspect

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app as cli_app
from compresslens.server.app import create_app

# (route, Workspace method, CLI command)
SURFACE = [
    ("/api/compare", "compare_view", "compare"),
    ("/api/compare/instances", "instances", "instances"),
    ("/api/compare/transitions", "transitions", "transitions"),
    ("/api/compare/calibration", "calibration", "calibrations"),
    ("/api/verdict", "verdict", "verdict"),
    ("/api/behaviours", "behaviours", "behaviours"),
    ("/api/agreement", "agreement", "agreement"),
    ("/api/pies", "pies_view", "pie-gallery"),
    ("/api/layers", "layers", "layers"),
    ("/api/layers/histogram", "layer_histogram", "layer-histogram"),
    ("/api/layers/activations", "activations", "activations"),
    ("/api/sensitivity", "sensitivity", "sensitivity"),
    ("/api/attribution", "attribute_flips", "attribute"),
    ("/api/geometry", "geometry_view", "geometry"),
    ("/api/geometry/map", "geometry_map", "geometry-map"),
    ("/api/geometry/occlusion", "occlusion_view", "occlusion"),
    ("/api/robustness", "robustness", "robustness"),
    ("/api/differences", "differences", "differences"),
    ("/api/select", "selection", "select"),
    ("/api/models/{key}/outputs", "output_table", "outputs"),
    ("/api/generations", "generate", "generate"),
    ("/api/generations/compare", "compare_generations", "generate"),
    ("/api/tokens/text", "token_text", "tokens"),
    ("/api/tokens/flips", "token_flips", "tokens"),
    ("/api/pareto", "pareto", "pareto"),
]
# routes that are not an analysis: lists, one record, thumbnails, jobs
NOT_ANALYSES = {
    "/api/models",
    "/api/models/{key}",
    "/api/datasets",
    "/api/datasets/{key}/instances/{index}",
    "/api/robustness/corruptions",
    "/api/jobs",
    "/api/jobs/{job}",
}


def succeeds(*arguments: str) -> str:
    result = CliRunner().invoke(cli_app, list(arguments), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def api_paths(workspace: cl.Workspace) -> set[str]:
    paths = create_app(workspace).openapi()["paths"]
    return {path for path in paths if path.startswith("/api/")}


def test_every_api_route_is_an_analysis_in_the_table_or_listed_apart(api_paths: set[str]) -> None:
    assert api_paths - NOT_ANALYSES == {route for route, _, _ in SURFACE}


@pytest.mark.parametrize(("route", "method", "command"), SURFACE, ids=lambda v: str(v))
def test_each_analysis_route_has_a_workspace_method_and_a_json_command(
    api_paths: set[str], route: str, method: str, command: str
) -> None:
    assert route in api_paths
    assert inspect.isfunction(getattr(cl.Workspace, method, None)), method
    assert "--json" in succeeds(command, "--help")


def test_the_command_list_names_every_command_of_the_table() -> None:
    listed = succeeds("--help")
    missing = [command for _, _, command in SURFACE if f" {command} " not in listed]
    assert missing == []
