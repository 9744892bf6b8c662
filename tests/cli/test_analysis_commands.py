"""compare / pies / layers / geometry on the command line, JSON and text."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import compresslens as cl
from compresslens.cli.main import app

runner = CliRunner()


@pytest.fixture
def location(digits_workspace: cl.Workspace) -> str:
    ws = digits_workspace
    ws.compress("mlp", "prune.magnitude", amount=0.8, name="mlp-80")
    for name in ("mlp", "mlp-80"):
        ws.evaluate(name, "digits", features=True, latency=False)
    return ws.location


def invoke(*arguments: str) -> str:
    result = runner.invoke(app, list(arguments), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_compare_json_has_summary_classes_and_subgroups(location: str) -> None:
    document = json.loads(
        invoke("compare", "mlp", "mlp-80", "-w", location, "--n-boot", "50", "--json")
    )
    assert document["summary"]["model"]["name"] == "mlp-80"
    assert len(document["per_class"]) == 10
    assert set(document["per_subgroup"]) == {"parity"}


def test_compare_text_names_both_models(location: str) -> None:
    text = invoke("compare", "mlp", "mlp-80", "-w", location, "--n-boot", "50")
    assert "mlp-80" in text and "agreement" in text


def test_layers_json_reports_sparsity(location: str) -> None:
    document = json.loads(invoke("layers", "mlp", "mlp-80", "-w", location, "--json"))
    sparsity = {r["module"]: r["model"]["sparsity"] for r in document["weights"]["modules"]}
    assert sparsity["classifier"] == pytest.approx(0.8, abs=1e-3)


def test_geometry_json_lists_fragile_samples(location: str) -> None:
    document = json.loads(invoke("geometry", "mlp", "mlp-80", "-w", location, "--json"))
    assert set(document["fragility"]) >= {"robust_to_fragile", "fragile_to_robust"}


def test_pies_with_a_single_model_per_side_answer_with_the_warnings_printed(
    location: str,
) -> None:
    text = invoke("pies", "--baseline", "mlp", "--compressed", "mlp-80", "-w", location)
    assert "1 baseline vs 1 compressed models" in text
    assert text.count("warning: ") == 2
    assert "baseline population is a single model" in " ".join(text.split())


def test_pies_json_lists_the_warnings_and_stays_json(location: str) -> None:
    document = json.loads(
        invoke("pies", "--baseline", "mlp", "--compressed", "mlp-80", "-w", location, "--json")
    )
    assert len(document["warnings"]) == 2
    assert "compressed population is a single model" in document["warnings"][1]


def test_pies_by_amount_json_keeps_numeric_levels(location: str) -> None:
    arguments = ("pies", "--baseline", "mlp", "--compressed", "mlp-80", "--by", "amount")
    document = json.loads(invoke(*arguments, "-w", location, "--json"))
    (level,) = document["levels"]
    assert level["level"] == {"amount": 0.8} and type(level["level"]["amount"]) is float
    assert len(level["warnings"]) == 2
    text = invoke(*arguments, "-w", location)
    assert "amount = 0.8" in text and text.count("warning: ") == 2


def test_robustness_json_has_a_row_per_model_and_condition(workspace: cl.Workspace) -> None:
    import torch

    workspace.add_dataset("imgs", torch.rand(20, 1, 28, 28), torch.arange(20) % 10, num_classes=10)
    from compresslens.models.zoo import lean_cnn

    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    document = json.loads(
        invoke(
            "robustness",
            "cnn",
            "-d",
            "imgs",
            "--corruptions",
            "contrast",
            "--severities",
            "1,3",
            "-w",
            workspace.location,
            "--json",
        )
    )
    assert [(r["corruption"], r["severity"]) for r in document["rows"]] == [
        ("clean", 0),
        ("contrast", 1),
        ("contrast", 3),
    ]


def test_names_with_brackets_are_printed_as_they_are(location: str) -> None:
    import compresslens as cl

    ws = cl.Workspace(location)
    ws.compress("mlp", "prune.magnitude", amount=0.5, name="magnitude[amount=0.5]")
    assert "magnitude[amount=0.5]" in invoke("ls", "-w", location)


def test_geometry_of_one_model_and_the_geometry_map(location: str) -> None:
    one = json.loads(invoke("geometry", "mlp", "-w", location, "--json"))
    assert one["model"] == "mlp" and len(one["per_class"]["angle"]["mean"]) == 10
    document = json.loads(
        invoke("geometry-map", "mlp,mlp-80", "-d", "digits", "-w", location, "--json")
    )
    assert [m["name"] for m in document["models"]] == ["mlp", "mlp-80"]
    assert len(document["coordinates"]) == 2 and len(document["edges"]) == 1
    text = invoke("geometry-map", "mlp,mlp-80", "-d", "digits", "-w", location)
    assert "minimum spanning tree" in text


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_compare_exports_the_per_instance_table(location: str, tmp_path, suffix: str) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    target = tmp_path / f"instances{suffix}"
    invoke("compare", "mlp", "mlp-80", "-w", location, "--n-boot", "20", "--export", str(target))
    table = pq.read_table(target) if suffix == ".parquet" else pa_csv.read_csv(target)
    assert table.num_rows == 1797
    flips = set(table.column("flip").to_pylist())
    assert flips <= {
        "unchanged",
        "correct_to_incorrect",
        "incorrect_to_correct",
        "incorrect_to_other_incorrect",
    }


def test_an_unknown_export_format_is_refused(location: str, tmp_path) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            "mlp",
            "mlp-80",
            "-w",
            location,
            "--n-boot",
            "20",
            "--export",
            str(tmp_path / "x.xlsx"),
        ],
    )
    assert result.exit_code == 1 and ".parquet or .csv" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_occlusion_json_gives_maps(workspace: cl.Workspace) -> None:
    import torch

    from compresslens.models.zoo import lean_cnn

    workspace.add_dataset("imgs", torch.rand(5, 1, 28, 28), torch.arange(5), num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    document = json.loads(
        invoke(
            "occlusion",
            "cnn",
            "2",
            "-d",
            "imgs",
            "--patch",
            "14",
            "--stride",
            "14",
            "-w",
            workspace.location,
            "--json",
        )
    )
    assert len(document["margin"]) == 2 and len(document["margin"][0]) == 2


def test_robustness_rows_export_to_csv(workspace: cl.Workspace, tmp_path) -> None:
    import pyarrow.csv as pa_csv
    import torch

    from compresslens.models.zoo import lean_cnn

    workspace.add_dataset("imgs", torch.rand(10, 1, 28, 28), torch.arange(10), num_classes=10)
    workspace.add_model(
        lean_cnn(), name="cnn", factory="compresslens.models.zoo:lean_cnn", input_shape=[1, 28, 28]
    )
    target = tmp_path / "robustness.csv"
    invoke(
        "robustness",
        "cnn",
        "-d",
        "imgs",
        "--corruptions",
        "jpeg",
        "--severities",
        "2",
        "--export",
        str(target),
        "-w",
        workspace.location,
    )
    table = pa_csv.read_csv(target)
    assert table.column("corruption").to_pylist() == ["clean", "jpeg"]


@pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated:DeprecationWarning")
def test_sensitivity_to_int4_weight_only_proposes_mixed_precision(
    digits_workspace: cl.Workspace,
) -> None:
    command = ("sensitivity", "mlp", "-d", "digits", "--op", "quantize.weight_only", "-p", "bits=4")
    location = ("-w", digits_workspace.location)
    document = json.loads(invoke(*command, "--keep-share", "0.5", *location, "--json"))
    assert document["operation"]["params"]["bits"] == 4
    most, least = (row["layer"] for row in document["ranking"])
    assert document["mixed_precision"] == {most: 8, least: 4}
    assert [p["include"] for p in document["weight_only_passes"]] == [[least], [most]]
    text = invoke(*command, *location)  # stored: the second ask reads the sweep back
    assert "quantize.weight_only on one layer at a time" in text
    assert f"mixed precision: {most} 8 bits, {least} 4 bits" in text


def test_compare_names_the_direction_of_each_excess_change(one_class_lost: cl.Workspace) -> None:
    """Unchanged classes of a model that lost say "fared better", the lossy one "lost more"."""
    location = one_class_lost.location
    document = json.loads(
        invoke("compare", "base", "lossy", "-w", location, "--n-boot", "200", "--json")
    )
    assert [(r["class"], r["excess"]) for r in document["per_class"]] == [
        ("a", "gain"),
        ("b", "gain"),
        ("c", "loss"),
    ]
    lines = invoke("compare", "base", "lossy", "-w", location, "--n-boot", "200").splitlines()
    by_class = {line.split()[0]: line for line in lines if line[1:3] in ("a ", "b ", "c ")}
    assert by_class["a"].endswith("fared better than the model overall")
    assert by_class["b"].endswith("fared better than the model overall")
    assert by_class["c"].endswith("lost more than the model overall")
